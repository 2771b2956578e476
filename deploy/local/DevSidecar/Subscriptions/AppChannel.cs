using System.Net.Sockets;

namespace Dcis.Crisis.DevSidecar.Subscriptions;

/// <summary>The HTTP channel from the sidecar to its app: token, concurrency cap, base address.</summary>
public sealed class AppChannel : IDisposable
{
    private readonly HttpClient _http;
    private readonly SemaphoreSlim? _concurrency;
    private readonly SidecarOptions _options;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Uri> _routes = new(StringComparer.Ordinal);

    public AppChannel(SidecarOptions options)
    {
        _options = options;
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = int.MaxValue,
            UseProxy = false,
            // daprd's Go client has no cookie jar; without one no cookie lookup runs per delivery either.
            UseCookies = false,
        })
        {
            BaseAddress = new Uri($"http://{options.AppChannelAddress}:{options.AppPort}/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _concurrency = options.AppMaxConcurrency > 0 ? new SemaphoreSlim(options.AppMaxConcurrency) : null;
    }

    public bool Enabled => _options.AppPort > 0;

    /// <summary>The absolute URI of a route path, parsed once per path (not per delivery).</summary>
    public Uri Route(string path) =>
        _routes.GetOrAdd(path, static (p, baseAddress) => new Uri(baseAddress, p.TrimStart('/')), _http.BaseAddress!);

    /// <summary>Waits until the app accepts TCP connections on its port, as daprd does before reading subscriptions.</summary>
    public async Task WaitForPortAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(_options.AppChannelAddress, _options.AppPort, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>Sends a request to the app with <c>dapr-api-token</c> when APP_API_TOKEN is set, within the concurrency cap.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_options.AppApiToken is { } token)
        {
            request.Headers.TryAddWithoutValidation("dapr-api-token", token);
        }

        if (_concurrency is null)
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }

        await _concurrency.WaitAsync(cancellationToken);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        finally
        {
            _concurrency.Release();
        }
    }

    public static HttpContent CloudEventContent(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        // A constant, well-formed media type: sent as is instead of parsed into a MediaTypeHeaderValue per delivery.
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    public void Dispose()
    {
        _http.Dispose();
        _concurrency?.Dispose();
    }
}
