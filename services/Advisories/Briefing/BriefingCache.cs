using System.Collections.Concurrent;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.Advisories.Briefing;

/// <summary>
/// Country briefings read from threat-levels, kept until an event about the country invalidates
/// them. A fetch that started before an invalidation is never stored (generation check), so a
/// briefing is never stale after its event has been handled.
/// </summary>
internal sealed class BriefingCache
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);

    public long Generation(string country) => _generations.GetValueOrDefault(country);

    public bool TryGet(string country, out GetCountryBriefingResponse briefing)
    {
        if (_entries.TryGetValue(country, out var entry) && entry.Generation == Generation(country))
        {
            briefing = entry.Briefing;
            return true;
        }

        briefing = null!;
        return false;
    }

    public void Store(string country, long generation, GetCountryBriefingResponse briefing)
    {
        if (generation == Generation(country))
        {
            _entries[country] = new Entry(generation, briefing);
        }
    }

    public void Invalidate(string? country)
    {
        if (string.IsNullOrEmpty(country))
        {
            return;
        }

        var key = country.ToUpperInvariant();
        _generations.AddOrUpdate(key, 1, (_, g) => g + 1);
        _entries.TryRemove(key, out _);
    }

    private sealed record Entry(long Generation, GetCountryBriefingResponse Briefing);
}
