using Dcis.Crisis.Testing;
using Grpc.Net.Client;

namespace Dcis.Crisis.Advisories.Bench;

/// <summary>Threat-levels as the bench runs it: a process of its own (as deployed) or hosted in the bench's process.</summary>
internal sealed class ThreatLevelsUnderTest : IAsyncDisposable
{
    private readonly ServiceHost? _host;
    private readonly ServiceProcess? _process;

    public ThreatLevelsUnderTest(ServiceHost host) => _host = host;

    public ThreatLevelsUnderTest(ServiceProcess process) => _process = process;

    /// <summary>The process that runs threat-levels.</summary>
    public int Pid => _process?.Pid ?? Environment.ProcessId;

    /// <summary>A gRPC channel whose calls carry a development token for <paramref name="role"/>.</summary>
    public GrpcChannel Channel(string role, string subject) =>
        _host is not null ? _host.Channel(_host.Token(role, subject)) : _process!.Channel(_process.Token(role, subject));

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
