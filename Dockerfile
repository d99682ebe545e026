# Flowgate: Next.js app + custom server (server.mjs).
#
# Not `output: "standalone"`: standalone ships its own server.js, which cannot
# see the TCP peer address, and Flowgate's per-IP limit depends on it (see
# server.mjs). This image builds once and keeps only production dependencies.

FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
RUN npx next build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000 HOST=0.0.0.0
COPY --from=build /app/package.json /app/server.mjs /app/next.config.ts ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/.next ./.next
COPY --from=build /app/public ./public
USER node
EXPOSE 3000
CMD ["node", "server.mjs"]
