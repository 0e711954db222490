# Tollgate: runs the TypeScript sources directly on Node 24 (type stripping), no build step for the
# server. The operator console (React) is built in a first stage, with the dev dependencies, and
# only its files are copied into the runtime image.
FROM node:24-bookworm-slim AS console
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` would build the console before its sources are here.
RUN npm install --no-audit --no-fund --ignore-scripts
COPY console ./console
RUN npm run build:console

FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    TOLLGATE_DATA_DIR=/var/lib/tollgate

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY console/prepare.ts ./console/prepare.ts
# npm install, not npm ci: the lockfile cannot list Biome's binaries for every platform (see README).
# `prepare` finds no build tools here (dev dependencies omitted) and skips the console build.
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=console /build/console/dist ./console/dist
COPY src ./src
COPY migrations ./migrations
COPY schema.graphql ./

RUN mkdir -p /var/lib/tollgate && chown node:node /var/lib/tollgate
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:4000/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "src/main.ts"]
