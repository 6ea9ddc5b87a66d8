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
RUN deno cache --lock=deno.lock --frozen main.ts lib/storage/postgres_repository.ts lib/hub/redis_hub.ts \
  lib/auth/jwt.ts

# The database lives in a volume owned by the unprivileged user.
RUN mkdir -p /data && chown deno:deno /data
VOLUME /data
ENV PORT=7071 HOST=0.0.0.0 DB_PATH=/data/chat.db

USER deno
EXPOSE 7071

# The port is read from PORT at check time, so `-e PORT=…` moves the check with the service.
HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["deno", "eval", "const port = Deno.env.get('PORT') || '7071'; const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null); Deno.exit(r?.ok ? 0 : 1)"]

CMD ["run", "--lock=deno.lock", "--frozen", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"]
