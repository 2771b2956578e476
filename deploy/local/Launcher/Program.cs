using System.Runtime.InteropServices;
using Dcis.Crisis.Launcher;

// Runs the whole system locally from deploy/dapr.yaml (see deploy/up.sh).
using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    ChildProcess.BeginShutdown();
    stop.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
return await new Launcher(LaunchOptions.Parse(args)).RunAsync(stop.Token);
