namespace Dcis.Crisis.Testing;

/// <summary>
/// A clock that moves only when the test says so, for time rules (expiry, reminders, retention,
/// effective times) tested without sleeping. Safe to read from the service's threads while the test
/// advances it. Timers created from it still run on real time.
/// </summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    /// <summary>Starts at 2026-11-29 12:00 UTC.</summary>
    public ManualClock()
        : this(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
