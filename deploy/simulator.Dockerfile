# The simulator (simulator/Telemetry.Simulator). Build context: the repository root.
#   docker build -f deploy/simulator.Dockerfile -t tunnel-telemetry/simulator .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY src/Telemetry.Contracts/ src/Telemetry.Contracts/
COPY simulator/ simulator/
RUN dotnet publish simulator/Telemetry.Simulator/Telemetry.Simulator.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app .
COPY simulator/scenarios/ /scenarios/
USER $APP_UID
ENTRYPOINT ["dotnet", "Telemetry.Simulator.dll"]
CMD ["run", "--scenario", "/scenarios/kukes-baseline.yaml", "--broker", "mosquitto:1884"]
