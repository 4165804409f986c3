#!/usr/bin/env node
/** The `sluice` command. Subcommands are added as the parts they start land. */
console.error('sluice: no subcommands yet');
process.exit(2);
