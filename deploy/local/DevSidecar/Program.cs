using Dcis.Crisis.DevSidecar;
using Dcis.Crisis.DevSidecar.Api;

// The dev sidecar: a stand-in for daprd's pub/sub building block (DAPR-CONTRACT.md).
var options = SidecarOptions.Parse(args, Environment.GetEnvironmentVariable);
var builder = WebApplication.CreateSlimBuilder();
await builder.AddDevSidecarAsync(options);
var app = builder.Build();
app.UseDaprApiToken(options);
app.MapDaprHttpApi();
app.MapGrpcService<DaprGrpcService>();
app.MapGrpcReflectionService();
await app.RunAsync();
