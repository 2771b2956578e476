using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;

namespace Dcis.Crisis.Dashboard.Browser;

/// <summary>
/// Server push: every open page holds one Server-Sent Events stream and is told which views changed
/// ("map", "alerts", "country:ML"...); it then re-reads just those. Bursts (thousands of delivery
/// statuses a second) are coalesced so a page re-reads a view at most a few times a second.
/// </summary>
internal sealed class LiveUpdates
{
    public const string Map = "map";
    public const string Alerts = "alerts";
    public const string Wellbeing = "wellbeing";
    public const string Operations = "operations";

    private static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);
    private readonly ConcurrentDictionary<Guid, Channel<string>> _pages = new();

    public int OpenPages => _pages.Count;

    public static string Country(string? code) => "country:" + (code ?? string.Empty).ToUpperInvariant();

    public void Changed(params string[] views)
    {
        ArgumentNullException.ThrowIfNull(views);
        foreach (var page in _pages.Values)
        {
            foreach (var view in views)
            {
                page.Writer.TryWrite(view);
            }
        }
    }

    /// <summary>Streams change notices to one page until it goes away.</summary>
    public async Task StreamAsync(HttpResponse response, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(response);
        var id = Guid.NewGuid();
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        _pages[id] = channel;
        try
        {
            response.Headers.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            await response.WriteAsync("retry: 2000\nevent: ready\ndata: {}\n\n", ct);
            await response.Body.FlushAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(Heartbeat);
                bool more;
                try
                {
                    more = await channel.Reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                    continue;
                }

                if (!more)
                {
                    break;
                }

                await Task.Delay(Coalesce, ct);
                var views = new HashSet<string>(StringComparer.Ordinal);
                while (channel.Reader.TryRead(out var view))
                {
                    views.Add(view);
                }

                await response.WriteAsync($"event: changed\ndata: {JsonSerializer.Serialize(views)}\n\n", ct);
                await response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page went away.
        }
        finally
        {
            _pages.TryRemove(id, out _);
        }
    }
}
