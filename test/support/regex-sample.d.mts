export declare function stripLookarounds(source: string): string;
