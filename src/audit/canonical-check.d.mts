// Types for canonical-check.mjs (plain JavaScript so that verify workers need no TypeScript loader).
export declare const BODY_MEMBERS: readonly string[];
export declare const MAX_DATA_DEPTH: number;
export declare function bodyProblem(text: string, checkedUpTo?: number): string | undefined;
export declare function lastBodyHadReplacement(): boolean;
export declare function jsonValueProblem(text: string, opts?: { object?: boolean }): string | undefined;
export declare function wellFormed(text: string): string;
