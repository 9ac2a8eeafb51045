# The same entry points as the README, as just recipes. Each goes through appliance/dev.sh, which
# installs the pinned Deno (and Debian packages where needed) first.

# Start the appliance on embedded defaults (extra flags pass through, e.g. just start --sip-port 5070)
start *ARGS:
    sh appliance/dev.sh start {{ARGS}}

# Run the whole test suite (what CI runs)
test *ARGS:
    sh appliance/dev.sh test {{ARGS}}

# Run the benchmarks against the reference servers
bench *ARGS:
    sh appliance/dev.sh bench {{ARGS}}

# Format, lint and type-check
check:
    .deno/node_modules/.bin/deno fmt --check
    .deno/node_modules/.bin/deno lint
    .deno/node_modules/.bin/deno check mod.ts
