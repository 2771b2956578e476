using System.Globalization;
using System.Net.Sockets;
using Dcis.Crisis.DevSidecar.Subscriptions;

namespace Dcis.Crisis.DevSidecar.Resources;

/// <summary>A failure that carries an HTTP status code (for <c>matching.httpStatusCodes</c>) or none.</summary>
public sealed class OperationFailedException(string message, int? httpStatus = null, bool permanent = false, Exception? inner = null)
    : Exception(message, inner)
{
    public int? HttpStatus { get; } = httpStatus;

    /// <summary>Not retried whatever the policy says (e.g. an open circuit breaker).</summary>
    public bool Permanent { get; } = permanent;
}

public sealed record RetryPolicy(bool Exponential, TimeSpan Duration, TimeSpan MaxInterval, int MaxRetries, string? HttpStatusCodes)
{
    public bool Retries(Exception error)
    {
        if (error is OperationFailedException { Permanent: true })
        {
            return false;
        }

        if (HttpStatusCodes is null || error is not OperationFailedException { HttpStatus: { } code })
        {
            return true;
        }

        foreach (var range in HttpStatusCodes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = range.IndexOf('-', StringComparison.Ordinal);
            var low = int.Parse(dash < 0 ? range : range[..dash], CultureInfo.InvariantCulture);
            var high = dash < 0 ? low : int.Parse(range[(dash + 1)..], CultureInfo.InvariantCulture);
            if (code >= low && code <= high)
            {
                return true;
            }
        }

        return false;
    }

    public TimeSpan Delay(int attempt, TimeSpan previous)
    {
        if (!Exponential)
        {
            return Duration;
        }

        // Dapr's exponential backoff: 500 ms initial, ×1.5 per step with ±50 % jitter, capped at maxInterval.
        var next = attempt == 0 ? TimeSpan.FromMilliseconds(500) : previous * 1.5;
        var jittered = next * (0.5 + Random.Shared.NextDouble());
        return jittered > MaxInterval ? MaxInterval : jittered;
    }
}

/// <summary>A circuit breaker in the gobreaker style Dapr uses: closed → open on <c>trip</c> → half-open after <c>timeout</c>.</summary>
public sealed class CircuitBreaker(string name, int maxRequests, TimeSpan interval, TimeSpan timeout, CelExpression trip)
{
    private readonly Lock _lock = new();
    private string _state = "closed";
    private DateTime _openUntil;
    private DateTime _countsResetAt = interval > TimeSpan.Zero ? DateTime.UtcNow + interval : DateTime.MaxValue;
    private long _requests;
    private long _totalFailures;
    private long _consecutiveFailures;
    private long _consecutiveSuccesses;
    private long _halfOpenInFlight;

    public string Name { get; } = name;

    public string State
    {
        get
        {
            lock (_lock)
            {
                Advance();
                return _state;
            }
        }
    }

    private void Advance()
    {
        var now = DateTime.UtcNow;
        if (_state == "open" && now >= _openUntil)
        {
            _state = "half-open";
            ResetCounts();
        }
        else if (_state == "closed" && now >= _countsResetAt)
        {
            ResetCounts();
            _countsResetAt = now + interval;
        }
    }

    private void ResetCounts()
    {
        _requests = _totalFailures = _consecutiveFailures = _consecutiveSuccesses = _halfOpenInFlight = 0;
    }

    /// <summary>Throws a permanent failure when the breaker refuses the call.</summary>
    public void Before()
    {
        lock (_lock)
        {
            Advance();
            if (_state == "open" || (_state == "half-open" && _halfOpenInFlight >= maxRequests))
            {
                throw new OperationFailedException($"circuit breaker {Name} is {_state}", permanent: true);
            }

            _requests++;
            if (_state == "half-open")
            {
                _halfOpenInFlight++;
            }
        }
    }

    public void After(bool success)
    {
        lock (_lock)
        {
            if (success)
            {
                _consecutiveFailures = 0;
                _consecutiveSuccesses++;
                if (_state == "half-open" && _consecutiveSuccesses >= maxRequests)
                {
                    _state = "closed";
                    ResetCounts();
                }

                return;
            }

            _totalFailures++;
            _consecutiveFailures++;
            _consecutiveSuccesses = 0;
            var vars = new Dictionary<string, System.Text.Json.Nodes.JsonNode?>
            {
                ["consecutiveFailures"] = _consecutiveFailures,
                ["requests"] = _requests,
                ["totalFailures"] = _totalFailures,
            };
            if (_state == "half-open" || trip.EvaluateBool(vars))
            {
                _state = "open";
                _openUntil = DateTime.UtcNow + timeout;
            }
        }
    }
}

/// <summary>Timeout, retry and circuit breaker applied to one target direction (component inbound or outbound).</summary>
public sealed class ResiliencyPolicy(TimeSpan? timeout, RetryPolicy? retry, CircuitBreaker? breaker)
{
    public static readonly ResiliencyPolicy None = new(null, null, null);

    public TimeSpan? Timeout { get; } = timeout;
    public RetryPolicy? Retry { get; } = retry;
    public CircuitBreaker? Breaker { get; } = breaker;

    /// <summary>
    /// Runs <paramref name="operation"/> under the policy: each attempt gets the timeout, passes the
    /// breaker, and is retried while the retry policy allows. Without a policy, one attempt.
    /// </summary>
    public async Task ExecuteAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var delay = TimeSpan.Zero;
        while (true)
        {
            try
            {
                Breaker?.Before();
                // A linked source (and its timer) only when there is a timeout to apply: without a policy
                // this runs once per delivered message.
                using var attemptCts = Timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (Timeout is { } t)
                {
                    attemptCts!.CancelAfter(t);
                }

                try
                {
                    await operation(attemptCts?.Token ?? cancellationToken);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    Breaker?.After(false);
                    throw new OperationFailedException("timeout waiting for the operation", inner: e);
                }
                catch (Exception e) when (e is OperationFailedException or HttpRequestException or SocketException or IOException or StackExchange.Redis.RedisException or TimeoutException)
                {
                    Breaker?.After(false);
                    throw;
                }

                Breaker?.After(true);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (Retry is null || !Retry.Retries(e) || (Retry.MaxRetries >= 0 && attempt >= Retry.MaxRetries))
                {
                    throw;
                }

                delay = Retry.Delay(attempt, delay);
                attempt++;
                await Task.Delay(delay, cancellationToken);
            }
        }
    }
}
