# The chat service on the official Deno image.
FROM denoland/deno:2.9.6

WORKDIR /app

# The embedded default needs no npm package; the PostgreSQL and Redis clients are loaded only with
# DATABASE_URL / REDIS_URL, and jose only with a JWT_ setting, by dynamic import, so they are cached
# here explicitly and a node never downloads at start-up. playwright-core (browser tests only) is not. The chat page is inside
# lib/ (lib/web/assets.ts).
COPY deno.json deno.lock ./
COPY main.ts ./
COPY lib ./lib
RUN deno cache --frozen main.ts lib/storage/postgres_repository.ts lib/hub/redis_hub.ts lib/auth/jwt.ts

# The database lives in a volume owned by the unprivileged user.
RUN mkdir -p /data && chown deno:deno /data
VOLUME /data
ENV PORT=7071 HOST=0.0.0.0 DB_PATH=/data/chat.db

USER deno
EXPOSE 7071

HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:7071/healthz'); Deno.exit(r.ok ? 0 : 1)"]

CMD ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"]
