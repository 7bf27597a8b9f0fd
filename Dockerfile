# The operator image: built on a supported Node LTS, production dependencies only, non-root,
# read-only root filesystem friendly (it writes nothing to disk).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json rolldown.config.mjs ./
COPY hack/bundle ./hack/bundle
COPY src ./src
COPY test/support ./test/support
COPY vitest.config.ts ./
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
# The bundle (rolldown.config.mjs) holds what the operator runs; node_modules stays for anything
# loaded by name at run time.
COPY --from=build /src/dist/operator ./dist/operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/operator/main.js"]
