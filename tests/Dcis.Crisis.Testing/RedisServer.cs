using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace Dcis.Crisis.Testing;

/// <summary>
/// A private <c>redis-server</c> for one test or fixture: free loopback port, its own temp directory,
/// optional append-only persistence (<c>appendfsync always</c>, so an acknowledged write survives a
/// <c>kill -9</c>). Never touches port 6379.
/// </summary>
/// <example>
/// <code>
/// await using var redis = await RedisServer.StartAsync(appendOnly: true);
/// var db = (await redis.ConnectAsync()).GetDatabase();
/// await redis.KillAsync();      // kill -9
/// await redis.RestartAsync();   // same port, same data directory
/// </code>
/// </example>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly TempDirectory? _ownedDirectory;
    private readonly List<ConnectionMultiplexer> _connections = [];
    private Process? _process;

    private RedisServer(int port, string directory, bool appendOnly, TempDirectory? ownedDirectory)
    {
        Port = port;
        Directory = directory;
        AppendOnly = appendOnly;
        _ownedDirectory = ownedDirectory;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>"127.0.0.1:port", the form of a Dapr <c>redisHost</c> value.</summary>
    public string EndPoint => $"127.0.0.1:{Port}";

    /// <summary>The server's working directory (AOF files live here).</summary>
    public string Directory { get; }

    /// <summary>Whether the server writes an append-only file.</summary>
    public bool AppendOnly { get; }

    /// <summary>True while the server process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server process id (benchmarks read its CPU time), 0 when not running.</summary>
    public int Pid => _process is { HasExited: false } process ? process.Id : 0;

    /// <summary>The redis-server executable: <c>REDIS_SERVER</c> env var, else /usr/bin/redis-server, else PATH.</summary>
    public static string Executable =>
        Environment.GetEnvironmentVariable("REDIS_SERVER") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server"
        : "redis-server";

    /// <summary>Starts a server on a free port and waits until it answers PING.</summary>
    /// <param name="appendOnly">Write an append-only file with fsync on every write.</param>
    /// <param name="directory">Data directory to use (kept); by default a temp directory deleted on dispose.</param>
    public static async Task<RedisServer> StartAsync(bool appendOnly = false, string? directory = null)
    {
        TempDirectory? owned = directory is null ? new TempDirectory("redis") : null;
        var server = new RedisServer(FreePort.Next(), directory ?? owned!.Path, appendOnly, owned);
        System.IO.Directory.CreateDirectory(server.Directory);
        await server.LaunchAsync();
        return server;
    }

    private async Task LaunchAsync()
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", Directory, "--save", "", "--protected-mode", "no",
            "--appendonly", AppendOnly ? "yes" : "no", "--appendfsync", "always",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await PingAsync())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                lock (output)
                {
                    throw new InvalidOperationException($"redis-server did not start on port {Port}:\n{output}");
                }
            }

            await Task.Delay(20);
        }
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer);
            // While loading the AOF the server answers -LOADING; only +PONG means ready.
            return read > 0 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>A StackExchange.Redis connection to this server (closed on dispose); survives restarts.</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = ConfigurationOptions.Parse(EndPoint);
        options.AbortOnConnectFail = false;
        var connection = await ConnectionMultiplexer.ConnectAsync(options);
        lock (_connections)
        {
            _connections.Add(connection);
        }

        return connection;
    }

    /// <summary>Kills the server with SIGKILL (<c>kill -9</c>) and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server again on the same port and directory (after <see cref="KillAsync"/>).</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        _process?.Dispose();
        await LaunchAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        List<ConnectionMultiplexer> connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }

        await KillAsync();
        _process?.Dispose();
        _ownedDirectory?.Dispose();
    }
}
