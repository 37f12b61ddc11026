#!/usr/bin/env node
// The installed `aptkit` command. npx, node_modules/.bin, npm scripts and global installs all run
// this file through a link, so it does nothing but call main(): no "was I run directly?" test.
import { main } from "../cli/main.js";

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    // An error no command turned into a message is a fault in aptkit: keep its stack.
    console.error(`aptkit: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
