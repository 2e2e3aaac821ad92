# The ingestion service (src/Telemetry.Ingestion). Build context: the repository root.
#   docker build -f deploy/ingestion.Dockerfile -t tunnel-telemetry/ingestion .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
# The build policy first: it applies to every project (warnings as errors, analyzers, central versions).
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY src/ src/
RUN dotnet publish src/Telemetry.Ingestion/Telemetry.Ingestion.csproj -c Release -o /app

# aspnet, not runtime: the service serves /health, /metrics and /api over HTTP (SPEC §10).
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
COPY deploy/http-health.sh /usr/local/bin/http-health
# The spool must be writable by the non-root user; a new named volume mounted here takes this ownership.
RUN chmod 755 /usr/local/bin/http-health \
    && mkdir -p /var/lib/telemetry/spool \
    && chown -R "$APP_UID" /var/lib/telemetry
USER $APP_UID
ENV urls=http://0.0.0.0:8080 \
    Telemetry__Spool__Directory=/var/lib/telemetry/spool
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/http-health", "8080", "/health/ready"]
ENTRYPOINT ["dotnet", "Telemetry.Ingestion.dll"]
