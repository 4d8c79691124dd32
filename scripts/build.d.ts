/** Types of scripts/build.js (plain CommonJS, so that bin/preflight.js runs it without a TypeScript loader). */
export declare const OUT_DIR: string;
export declare const SOURCE_DIRS: readonly string[];
export declare function isFresh(root: string): boolean;
export declare function build(root: string): Promise<{ modules: number; written: number; seconds: number }>;
