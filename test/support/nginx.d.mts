export declare const NGINX: string;
export declare function freePort(): Promise<number>;
export declare function gatehouseProxyConfig(
  port: number,
  replicas: Record<string, string>,
): string;
export declare function startNginx(
  port: number,
  replicas: Record<string, string>,
): Promise<{ url: string; dir: string; stop(): Promise<void> }>;
