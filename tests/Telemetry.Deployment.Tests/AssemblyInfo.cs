using System.Runtime.Versioning;

// The tests start Debian's influxd and mosquitto and run shell commands of the compose file.
[assembly: SupportedOSPlatform("linux")]
