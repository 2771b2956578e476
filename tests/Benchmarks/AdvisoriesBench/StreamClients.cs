using System.Diagnostics;
using System.Globalization;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Shared.Security;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.IdentityModel.Tokens;

namespace Dcis.Crisis.Advisories.Bench;

/// <summary>
/// The companies' side: one WatchAdvisories stream per company. An open that fails is retried and
/// a stream that breaks is reopened from its resume cursor, as a real client does (a reconnect's
/// delay counts in the latency). Runs in the bench process, or in a process of its own
/// (<see cref="ChildProcess"/>) so that 10,000 client streams do not share the services' CPU,
/// thread pool and GC, as in production where the companies' systems run elsewhere.
/// </summary>
internal sealed class StreamClients : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<GrpcChannel> _channels;
    private readonly List<Task> _streams;
    private int _opened;
    private int _openFailures;
    private int _breaks;
    private string? _firstOpenError;
    private string? _firstBreak;

    private StreamClients(Uri address, SymmetricSecurityKey key, int companies, Action<int, Advisory, long> onAdvisory)
    {
        // One channel per 500 streams: with one channel and EnableMultipleHttp2Connections, opening 10,000
        // streams stalled at 5 connections x 1,000 streams (Kestrel's MaxStreamsPerConnection here).
        _channels = [.. Enumerable.Range(0, Math.Max(1, (companies + 499) / 500)).Select(_ => GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, KeepAlivePingDelay = TimeSpan.FromSeconds(60) },
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        }))];
        var clients = _channels.Select(c => new AdvisoriesService.AdvisoriesServiceClient(c)).ToList();
        _streams = [.. Enumerable.Range(0, companies).Select(i => Task.Run(() => RunStreamAsync(i, clients[i % clients.Count], key, onAdvisory)))];
    }

    public int Opened => Volatile.Read(ref _opened);

    public int OpenFailures => Volatile.Read(ref _openFailures);

    public int Breaks => Volatile.Read(ref _breaks);

    public string? FirstOpenError => Volatile.Read(ref _firstOpenError);

    public string? FirstBreak => Volatile.Read(ref _firstBreak);

    public static string CompanyId(int i) => $"co-{i:D5}";

    /// <summary>Opens the streams; <paramref name="onAdvisory"/> gets (company index, advisory, Stopwatch timestamp of receipt).</summary>
    public static StreamClients Start(Uri address, SymmetricSecurityKey key, int companies, Action<int, Advisory, long> onAdvisory) =>
        new(address, key, companies, onAdvisory);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_streams.Select(s => s.ContinueWith(_ => { }, TaskScheduler.Default)));
        _channels.ForEach(c => c.Dispose());
        _stop.Dispose();
    }

    /// <summary>
    /// Child mode (<c>clients ADDRESS DATA_DIR COMPANIES</c>): one stdout line per received advisory
    /// (<c>r company subjectVersion country timestamp</c>, Stopwatch ticks: CLOCK_MONOTONIC, the same
    /// clock in every process of the machine), progress lines, and a final line when stdin closes.
    /// </summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        var address = new Uri(args[0]);
        var key = DevTokens.LoadOrCreateKey(args[1]);
        var companies = int.Parse(args[2], CultureInfo.InvariantCulture);
        var output = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
        var gate = new Lock();
        void Line(string text)
        {
            lock (gate)
            {
                output.WriteLine(text);
            }
        }

        var clients = Start(address, key, companies, (i, a, at) => Line(string.Create(
            CultureInfo.InvariantCulture, $"r {i} {a.SubjectVersion} {a.Area.CountryCode} {at}")));
        using var progress = new Timer(_ => Line(clients.StatusLine()), null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
        await Console.In.ReadToEndAsync(); // the parent closes stdin to stop us
        await progress.DisposeAsync();
        Line(clients.StatusLine());
        await clients.DisposeAsync();
        return 0;
    }

    private string StatusLine() =>
        $"s {Opened} {OpenFailures} {Breaks} {Escape(FirstOpenError)} {Escape(FirstBreak)}";

    private static string Escape(string? text) => text is null ? "-" : Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    private async Task RunStreamAsync(int i, AdvisoriesService.AdvisoriesServiceClient client, SymmetricSecurityKey key, Action<int, Advisory, long> onAdvisory)
    {
        var token = DevTokens.Mint(key, new TokenRequest($"mgr-{i}", [Roles.CompanySecurity]) { CompanyId = CompanyId(i) });
        var headers = new Metadata { { "Authorization", "Bearer " + token } };
        long cursor = 0;
        var counted = false;
        while (!_stop.IsCancellationRequested)
        {
            using var call = client.WatchAdvisories(new WatchAdvisoriesRequest { AfterSequence = cursor }, headers, cancellationToken: _stop.Token);
            try
            {
                await call.ResponseHeadersAsync;
            }
            catch (RpcException e) when (!_stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref _openFailures);
                Interlocked.CompareExchange(ref _firstOpenError, e.Status.ToString(), null);
                await Task.Delay(200);
                continue;
            }
            catch (RpcException)
            {
                return;
            }

            if (!counted)
            {
                counted = true;
                Interlocked.Increment(ref _opened);
            }

            try
            {
                while (await call.ResponseStream.MoveNext(_stop.Token))
                {
                    if (call.ResponseStream.Current.Advisory is { } advisory)
                    {
                        onAdvisory(i, advisory, Stopwatch.GetTimestamp());
                        cursor = advisory.Sequence;
                    }
                }
            }
            catch (RpcException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e)
            {
                Interlocked.Increment(ref _breaks);
                Interlocked.CompareExchange(ref _firstBreak, e.Status.ToString(), null);
                await Task.Delay(200);
            }
        }
    }
}

/// <summary>The stream clients in a process of their own: this program started again in child mode.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _reader;
    private volatile string _status = "s 0 0 0 - -";

    private ChildProcess(Process process, Action<int, long, string, long> onAdvisory)
    {
        _process = process;
        _reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                var parts = line.Split(' ');
                if (parts[0] == "r" && parts.Length == 5)
                {
                    onAdvisory(
                        int.Parse(parts[1], CultureInfo.InvariantCulture),
                        long.Parse(parts[2], CultureInfo.InvariantCulture),
                        parts[3],
                        long.Parse(parts[4], CultureInfo.InvariantCulture));
                }
                else if (parts[0] == "s")
                {
                    _status = line;
                }
            }
        });
    }

    public int Opened => Field(1);

    public int OpenFailures => Field(2);

    public int Breaks => Field(3);

    public string? FirstOpenError => Text(4);

    public string? FirstBreak => Text(5);

    public int Pid => _process.Id;

    public static ChildProcess Start(Uri address, string dataDir, int companies, Action<int, long, string, long> onAdvisory)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Started as "dotnet AdvisoriesBench.dll" (dotnet run) or as the apphost.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        }

        foreach (var arg in new[] { "clients", address.ToString(), dataDir, companies.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        return new ChildProcess(Process.Start(start)!, onAdvisory);
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            _process.Kill(entireProcessTree: true);
        }

        await _reader.ContinueWith(_ => { }, TaskScheduler.Default);
        _process.Dispose();
    }

    private int Field(int index) => int.Parse(_status.Split(' ')[index], CultureInfo.InvariantCulture);

    private string? Text(int index)
    {
        var field = _status.Split(' ')[index];
        return field == "-" ? null : System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(field));
    }
}
