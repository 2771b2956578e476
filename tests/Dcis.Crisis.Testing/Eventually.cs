namespace Dcis.Crisis.Testing;

/// <summary>
/// Polls a condition until it holds. Tests wait for asynchronous effects this way, with a generous
/// limit that only guards against hanging forever — never as a performance assertion.
/// </summary>
public static class Eventually
{
    /// <summary>Waits until the condition is true, or fails after the limit (default 30 s).</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? limit = null, string? because = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await TrueAsync(() => Task.FromResult(condition()), limit, because);
    }

    /// <summary>Waits until the async condition is true, or fails after the limit (default 30 s).</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan? limit = null, string? because = null) =>
        TrueAsync(condition, limit, because is null ? null : () => because);

    /// <summary>
    /// Waits until the condition is true, or fails after the limit with <paramref name="because"/> as it reads
    /// then: for a message that quotes a process's output, which is empty when the wait starts.
    /// </summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? limit, Func<string>? because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await TrueAsync(() => Task.FromResult(condition()), limit, because);
    }

    /// <inheritdoc cref="TrueAsync(Func{bool}, TimeSpan?, Func{string}?)"/>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? limit, Func<string>? because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(30));
        var delay = 20;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Condition not met in time" + (because is null ? "" : ": " + because()));
            }

            await Task.Delay(delay);
            delay = Math.Min(delay * 2, 500);
        }
    }
}
