namespace Dcis.Crisis.Notifications.Domain;

/// <summary>
/// A token bucket on an injected clock: <see cref="TryTake"/> grants at most the tokens that the
/// rate has refilled since the last call (capped at the burst size). Never sleeps, so a test can
/// count what it grants while moving a manual clock.
/// </summary>
public sealed class TokenBucket
{
    private readonly double _ratePerSecond;
    private readonly double _capacity;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private double _tokens;
    private long _lastTicks;

    public TokenBucket(double ratePerSecond, double burstSeconds, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        _ratePerSecond = ratePerSecond;
        _capacity = Math.Max(1, ratePerSecond * burstSeconds);
        _clock = clock;
        _tokens = _capacity;
        _lastTicks = clock.GetUtcNow().UtcTicks;
    }

    /// <summary>Takes up to <paramref name="wanted"/> whole tokens; returns how many were granted.</summary>
    public int TryTake(int wanted)
    {
        lock (_lock)
        {
            Refill();
            var granted = (int)Math.Min(wanted, Math.Floor(_tokens));
            _tokens -= granted;
            return granted;
        }
    }

    /// <summary>Gives back tokens that were taken but not used (fewer deliveries were due than granted).</summary>
    public void Return(int tokens)
    {
        lock (_lock)
        {
            _tokens = Math.Min(_capacity, _tokens + tokens);
        }
    }

    /// <summary>How long until one whole token is available.</summary>
    public TimeSpan TimeToNextToken()
    {
        lock (_lock)
        {
            Refill();
            return _tokens >= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - _tokens) / _ratePerSecond);
        }
    }

    private void Refill()
    {
        var now = _clock.GetUtcNow().UtcTicks;
        var elapsed = now - _lastTicks;
        if (elapsed > 0)
        {
            _tokens = Math.Min(_capacity, _tokens + (elapsed / (double)TimeSpan.TicksPerSecond * _ratePerSecond));
            _lastTicks = now;
        }
    }
}
