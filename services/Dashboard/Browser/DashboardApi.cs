using Dcis.Crisis.Dashboard.Storage;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Grpc.Core;

namespace Dcis.Crisis.Dashboard.Browser;

/// <summary>
/// The browser's JSON API and live stream, served on the web port only. Reading needs a crisis-cell
/// role (analyst or crisis-cell-viewer); every action needs the analyst role, checked here and again
/// by the service the action goes to.
/// </summary>
internal static partial class DashboardApi
{
    public static void MapDashboardApi(this WebApplication app, int webPort)
    {
        var api = app.MapGroup("/api").RequireHost($"*:{webPort}").RequireAuthorization(CrisisPolicies.CrisisCell);

        api.MapGet("/me", (HttpContext http) =>
        {
            var caller = Caller.FromPrincipal(http.User);
            return Results.Ok(new { caller.Subject, roles = caller.Roles, canAct = caller.Roles.Contains(Roles.Analyst) });
        });
        api.MapGet("/map", async (HttpContext http, InitialState initial, ReadModelQueries q, CancellationToken ct) =>
        {
            await initial.EnsureLoadedAsync(BearerToken(http), ct);
            return Results.Ok(await q.MapAsync(ct));
        });
        api.MapGet("/countries/{code}", async (string code, ReadModelQueries q, CancellationToken ct) =>
            code.Length == 2 && code.All(char.IsAsciiLetter)
                ? Results.Ok(await q.CountryAsync(code.ToUpperInvariant(), ct))
                : Results.Problem(statusCode: 400, title: "code must be an ISO 3166-1 alpha-2 country code"));
        api.MapGet("/alerts", async (ReadModelQueries q, CancellationToken ct) => Results.Ok(await q.AlertsAsync(50, ct)));
        api.MapGet("/wellbeing", async (ReadModelQueries q, CancellationToken ct) => Results.Ok(await q.WellbeingAsync(ct)));
        api.MapGet("/operations", async (HttpContext http, ReadModelQueries q, HealthMonitor health, ThreatLevelsGateway threatLevels,
            ILogger<ThreatLevelsGateway> logger, CancellationToken ct) =>
        {
            IReadOnlyList<ProposalDto>? approvals = null;
            try
            {
                approvals = await threatLevels.PendingProposalsAsync(BearerToken(http), ct);
            }
            catch (RpcException ex)
            {
                LogUnavailable(logger, "ListProposals", ex.StatusCode);
            }

            return Results.Ok(new
            {
                deadLetters = await q.DeadLettersAsync(ct),
                reviewsDue = await q.ReviewsDueAsync(30, ct),
                approvals,
                health = health.Latest,
            });
        });
        api.MapGet("/stream", (HttpContext http, LiveUpdates live) => live.StreamAsync(http.Response, http.RequestAborted));

        var actions = api.MapGroup("/actions").RequireAuthorization(CrisisPolicies.Analyst);
        actions.MapPost("/set-level", (HttpContext http, SetLevelCommand command, ThreatLevelsGateway g, CancellationToken ct) =>
            CallAsync(() => g.SetLevelAsync(BearerToken(http), command, ct)));
        actions.MapPost("/proposals/{id}/approve", (HttpContext http, string id, DecisionCommand? body, ThreatLevelsGateway g, CancellationToken ct) =>
            CallAsync(() => g.ApproveAsync(BearerToken(http), id, body?.Note, ct)));
        actions.MapPost("/proposals/{id}/reject", (HttpContext http, string id, DecisionCommand? body, ThreatLevelsGateway g, CancellationToken ct) =>
            CallAsync(() => g.RejectAsync(BearerToken(http), id, body?.Note, ct)));
        actions.MapPost("/declare-crisis", (HttpContext http, DeclareCrisisCommand command, ThreatLevelsGateway g, CancellationToken ct) =>
            CallAsync(() => g.DeclareCrisisAsync(BearerToken(http), command, ct)));
        actions.MapPost("/crises/{id}/close", (HttpContext http, string id, ThreatLevelsGateway g, CancellationToken ct) =>
            CallAsync(() => g.CloseCrisisAsync(BearerToken(http), id, ct)));
        actions.MapPost("/dead-letters/{id:long}/replay", async (long id, ReadModelStore store, IEventPublisher publisher, LiveUpdates live,
            CancellationToken ct) =>
        {
            var letter = await store.TakeForReplayAsync(id, ct);
            if (letter is null)
            {
                return Results.Problem(statusCode: 404, title: "No replayable dead letter with this id");
            }

            // Same CloudEvent id: consumers that already processed it skip it (inbox), the others get it again.
            await publisher.PublishAsync([new OutgoingEvent(letter.Topic, letter.EventId, letter.Type ?? string.Empty, letter.Payload, null)], ct);
            await store.MarkReplayedAsync(id, ct);
            live.Changed(LiveUpdates.Operations);
            return Results.Ok(new { replayed = id, topic = letter.Topic });
        });
    }

    private static async Task<IResult> CallAsync(Func<Task<object>> call)
    {
        try
        {
            return Results.Ok(await call());
        }
        catch (RpcException ex)
        {
            var status = ex.StatusCode switch
            {
                StatusCode.InvalidArgument => 400,
                StatusCode.Unauthenticated => 401,
                StatusCode.PermissionDenied => 403,
                StatusCode.NotFound => 404,
                StatusCode.FailedPrecondition or StatusCode.AlreadyExists => 409,
                StatusCode.Unavailable or StatusCode.DeadlineExceeded => 503,
                _ => 502,
            };
            return Results.Problem(statusCode: status, title: ex.StatusCode.ToString(), detail: ex.Status.Detail);
        }
    }

    private static string BearerToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : string.Empty;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "threat-levels {Rpc} unavailable: {Status}")]
    private static partial void LogUnavailable(ILogger logger, string rpc, StatusCode status);
}

internal sealed record DecisionCommand(string? Note);

/// <summary>Loads threat-levels' current state into the read models once, on the first signed-in page load.</summary>
internal sealed partial class InitialState(ThreatLevelsGateway gateway, LiveUpdates live, TimeProvider clock, ILogger<InitialState> logger) : IDisposable
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _loaded;
    private DateTimeOffset _nextTry = DateTimeOffset.MinValue;

    public async Task EnsureLoadedAsync(string token, CancellationToken ct)
    {
        if (_loaded || clock.GetUtcNow() < _nextTry || string.IsNullOrEmpty(token))
        {
            return;
        }

        await _gate.WaitAsync(ct);
        try
        {
            if (_loaded || clock.GetUtcNow() < _nextTry)
            {
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var count = await gateway.LoadInitialStateAsync(token, timeout.Token);
            _loaded = true;
            LogLoaded(logger, count);
            live.Changed(LiveUpdates.Map);
        }
        catch (RpcException ex)
        {
            _nextTry = clock.GetUtcNow() + RetryAfter;
            LogNotLoaded(logger, ex.StatusCode);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _nextTry = clock.GetUtcNow() + RetryAfter;
            LogNotLoaded(logger, StatusCode.DeadlineExceeded);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Initial state loaded from threat-levels: {Count} assessments")]
    private static partial void LogLoaded(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Initial state not loaded from threat-levels ({Status}); events keep the map current, will retry")]
    private static partial void LogNotLoaded(ILogger logger, StatusCode status);
}
