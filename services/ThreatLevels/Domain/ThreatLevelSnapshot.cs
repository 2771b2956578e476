using System.Collections.Concurrent;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>
/// One assessment's latest version, with what lookups need precomputed, and — while that version is
/// scheduled (its effective_time is later than when it was recorded) — the versions that apply until
/// then (<see cref="Previous"/>). The version in force at a time is the highest version whose effective
/// time has come; a later version with an earlier effective time supersedes a scheduled one for good.
/// A zone whose version in force has level UNSPECIFIED is retired: its places read the country's level.
/// </summary>
public sealed record AssessmentEntry(Assessment Assessment, ZoneShape? Shape, Assessment Basic, AssessmentEntry? Previous)
{
    /// <summary>The country the assessment is in.</summary>
    public string CountryCode => Assessment.Area.CountryCode;

    /// <summary>Whether it is a zone (not the whole country).</summary>
    public bool IsZone => Rules.IsZone(Assessment.Area);

    /// <summary>Whether this version retires the zone (level UNSPECIFIED).</summary>
    public bool IsRetired => Assessment.Level == ThreatLevel.Unspecified;

    /// <summary>Effective time of this version, in UTC ticks.</summary>
    public long EffectiveTicks { get; } = Ticks(Assessment.EffectiveTime);

    /// <summary>Effective-level responses that read this version, built (and encoded) once.</summary>
    internal LevelResponses Responses { get; } = new();

    /// <summary>The version in force at <paramref name="now"/> (null before the first one takes effect).</summary>
    public AssessmentEntry? InForce(DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        var entry = this;
        while (entry is not null && entry.EffectiveTicks > ticks)
        {
            entry = entry.Previous;
        }

        return entry;
    }

    /// <summary>The version in force at <paramref name="now"/>, unless none is or it retires the zone.</summary>
    public AssessmentEntry? Active(DateTimeOffset now) => InForce(now) is { IsRetired: false } e ? e : null;

    /// <summary>Builds the entry (and the zone's shape) for the first or only known version.</summary>
    public static AssessmentEntry Of(Assessment assessment) => Of(assessment, previous: null);

    /// <summary>
    /// Builds the entry for a new version of an assessment whose latest entry was <paramref name="previous"/>:
    /// keeps the earlier versions only as long as they may still apply before this one takes effect.
    /// </summary>
    public static AssessmentEntry Of(Assessment assessment, AssessmentEntry? previous)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        var basic = new Assessment
        {
            AssessmentId = assessment.AssessmentId,
            Area = new Area { CountryCode = assessment.Area.CountryCode, ZoneName = assessment.Area.ZoneName, SubdivisionCodes = { assessment.Area.SubdivisionCodes } },
            Level = assessment.Level,
            Categories = { assessment.Categories },
            Version = assessment.Version,
            EffectiveTime = assessment.EffectiveTime,
            ReviewBy = assessment.ReviewBy,
            Sequence = assessment.Sequence,
        };
        EncodedMessages.Register(assessment);
        EncodedMessages.Register(basic);
        return new AssessmentEntry(assessment, ZoneShape.Of(assessment.Area), basic, StillRelevant(previous, Ticks(assessment.EffectiveTime), Ticks(assessment.UpdatedAt)));
    }

    private static AssessmentEntry? StillRelevant(AssessmentEntry? previous, long effective, long recorded)
    {
        if (effective <= recorded)
        {
            return null;
        }

        // Versions taking effect at or after this one's time never apply: this one supersedes them.
        var entry = previous;
        while (entry is not null && entry.EffectiveTicks >= effective)
        {
            entry = entry.Previous;
        }

        // One already in force when this version was recorded applies until then; older ones never again.
        return entry is not null && entry.EffectiveTicks <= recorded && entry.Previous is not null ? entry with { Previous = null } : entry;
    }

    private static long Ticks(Google.Protobuf.WellKnownTypes.Timestamp? t) =>
        t is null ? DateTimeOffset.MinValue.UtcTicks : t.ToDateTimeOffset().UtcTicks;
}

/// <summary>
/// An immutable picture of every current assessment, swapped atomically after each committed change.
/// Reads (effective level, lists) never touch the database and never take a lock; the proto
/// messages inside are shared by responses and must never be mutated.
/// </summary>
public sealed class ThreatLevelSnapshot
{
    private static readonly IReadOnlyList<AssessmentEntry> NoZones = [];
    private readonly Dictionary<string, AssessmentEntry> _byId;
    private readonly Dictionary<string, List<AssessmentEntry>> _zonesByCountry;
    private readonly string[] _sortedIds;
    private readonly AssessmentEntry[] _sorted;

    private ThreatLevelSnapshot(Dictionary<string, AssessmentEntry> byId, long latestSequence)
    {
        _byId = byId;
        LatestSequence = latestSequence;
        _sortedIds = [.. byId.Keys.Order(StringComparer.Ordinal)];
        _sorted = [.. _sortedIds.Select(id => byId[id])];
        _zonesByCountry = byId.Values.Where(e => e.IsZone)
            .GroupBy(e => e.CountryCode, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.Assessment.AssessmentId, StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
    }

    /// <summary>Most list responses one snapshot keeps (the same few queries — the world map — come again and again).</summary>
    public const int MaxCachedLists = 32;

    private readonly ConcurrentDictionary<ListQuery, ListAssessmentsResponse> _lists = new();

    /// <summary>No assessment yet.</summary>
    public static ThreatLevelSnapshot Empty { get; } = new(new Dictionary<string, AssessmentEntry>(StringComparer.Ordinal), 0);

    /// <summary>Sequence of the last change reflected.</summary>
    public long LatestSequence { get; }

    /// <summary>Number of assessments.</summary>
    public int Count => _byId.Count;

    /// <summary>Every entry (unordered).</summary>
    public IEnumerable<AssessmentEntry> Entries => _byId.Values;

    /// <summary>Builds a snapshot from stored assessments.</summary>
    public static ThreatLevelSnapshot From(IEnumerable<Assessment> assessments, long latestSequence) =>
        From(assessments.Select(AssessmentEntry.Of), latestSequence);

    /// <summary>Builds a snapshot from entries (scheduled versions with the versions applying until then).</summary>
    public static ThreatLevelSnapshot From(IEnumerable<AssessmentEntry> entries, long latestSequence) =>
        new(entries.ToDictionary(e => e.Assessment.AssessmentId, StringComparer.Ordinal), latestSequence);

    /// <summary>A new snapshot with one assessment replaced or added.</summary>
    public ThreatLevelSnapshot With(AssessmentEntry entry, long sequence)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var copy = new Dictionary<string, AssessmentEntry>(_byId, StringComparer.Ordinal) { [entry.Assessment.AssessmentId] = entry };
        return new ThreatLevelSnapshot(copy, sequence);
    }

    /// <summary>The assessment, or null.</summary>
    public AssessmentEntry? Find(string assessmentId) => _byId.GetValueOrDefault(assessmentId);

    /// <summary>The zones of a country, ordered by id.</summary>
    public IReadOnlyList<AssessmentEntry> ZonesOf(string countryCode) =>
        _zonesByCountry.TryGetValue(countryCode, out var zones) ? zones : NoZones;

    /// <summary>The country's own level in force at <paramref name="now"/> (UNSPECIFIED when none is).</summary>
    public ThreatLevel CountryLevel(string countryCode, DateTimeOffset now) =>
        _byId.TryGetValue(countryCode, out var e) && e.InForce(now) is { } inForce ? inForce.Assessment.Level : ThreatLevel.Unspecified;

    /// <summary>The zones of a country in force at <paramref name="now"/> (not retired, not yet to come), ordered by id.</summary>
    public IEnumerable<AssessmentEntry> ActiveZonesOf(string countryCode, DateTimeOffset now)
    {
        foreach (var zone in ZonesOf(countryCode))
        {
            if (zone.Active(now) is { } active)
            {
                yield return active;
            }
        }
    }

    /// <summary>
    /// The list response for a query, built once per snapshot (lists do not depend on the time: they
    /// show the latest version of each assessment) and encoded once (<see cref="EncodedMessages"/>).
    /// The response is shared and must not be mutated.
    /// </summary>
    public ListAssessmentsResponse CachedList(ListQuery query, Func<ThreatLevelSnapshot, ListQuery, ListAssessmentsResponse> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        if (_lists.TryGetValue(query, out var cached))
        {
            return cached;
        }

        var response = build(this, query);
        if (_lists.Count < MaxCachedLists)
        {
            EncodedMessages.Register(response);
            response = _lists.GetOrAdd(query, response);
        }

        return response;
    }

    /// <summary>A page of assessments in id order after <paramref name="afterId"/>.</summary>
    public (List<Assessment> Page, string? LastId) List(string? afterId, int pageSize, Func<AssessmentEntry, bool> filter, bool basic = false)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var start = 0;
        if (!string.IsNullOrEmpty(afterId))
        {
            var index = Array.BinarySearch(_sortedIds, afterId, StringComparer.Ordinal);
            start = index >= 0 ? index + 1 : ~index;
        }

        var page = new List<Assessment>(Math.Min(pageSize, _sortedIds.Length));
        for (var i = start; i < _sortedIds.Length; i++)
        {
            var entry = _sorted[i];
            if (!filter(entry))
            {
                continue;
            }

            if (page.Count == pageSize)
            {
                return (page, page[^1].AssessmentId);
            }

            page.Add(basic ? entry.Basic : entry.Assessment);
        }

        return (page, null);
    }

    /// <summary>The level of a whole country at <paramref name="now"/>, with its zones in force.</summary>
    public GetEffectiveLevelResponse ForCountry(string countryCode, DateTimeOffset now)
    {
        // The country response is shared (cached): the zones go into a copy of its scalar fields.
        var country = Country(countryCode, now);
        var response = new GetEffectiveLevelResponse
        {
            CountryCode = country.CountryCode,
            Level = country.Level,
            CountryLevel = country.CountryLevel,
            Source = country.Source,
            Assessment = country.Assessment,
        };
        foreach (var zone in ActiveZonesOf(countryCode, now))
        {
            response.Zones.Add(zone.Assessment);
        }

        return response;
    }

    /// <summary>The level of one assessment (zone or country) at <paramref name="now"/>; a zone not
    /// (or no longer) in force reads its country's level; null when unknown.</summary>
    public GetEffectiveLevelResponse? ForAssessment(string assessmentId, DateTimeOffset now)
    {
        if (Find(assessmentId) is not { } entry)
        {
            return null;
        }

        return entry.IsZone && entry.Active(now) is { } zone ? Zone(zone, now) : Country(entry.CountryCode, now);
    }

    /// <summary>The most specific zone naming the subdivision (or, failing that, one of its parents), else the country.</summary>
    public GetEffectiveLevelResponse ForSubdivision(string subdivisionCode, CountryCatalog catalog, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var country = CountryCatalog.CountryOf(subdivisionCode);
        foreach (var code in catalog.SelfAndAncestors(subdivisionCode))
        {
            AssessmentEntry? best = null;
            foreach (var zone in ActiveZonesOf(country, now))
            {
                var codes = zone.Assessment.Area.SubdivisionCodes;
                if (codes.Count == 0 || !codes.Contains(code))
                {
                    continue;
                }

                if (best is null || codes.Count < best.Assessment.Area.SubdivisionCodes.Count ||
                    (codes.Count == best.Assessment.Area.SubdivisionCodes.Count && zone.Assessment.Level > best.Assessment.Level))
                {
                    best = zone;
                }
            }

            if (best is not null)
            {
                return Zone(best, now);
            }
        }

        return Country(country, now);
    }

    /// <summary>The smallest polygon or circle zone of the country containing the point, else the country.</summary>
    public GetEffectiveLevelResponse ForPoint(string countryCode, LatLng point, DateTimeOffset now)
    {
        AssessmentEntry? best = null;
        foreach (var zone in ActiveZonesOf(countryCode, now))
        {
            if (zone.Shape is null || !zone.Shape.Contains(point))
            {
                continue;
            }

            if (best is null || zone.Shape.AreaSquareMeters < best.Shape!.AreaSquareMeters ||
                (zone.Shape.AreaSquareMeters.Equals(best.Shape.AreaSquareMeters) && zone.Assessment.Level > best.Assessment.Level))
            {
                best = zone;
            }
        }

        return best is null ? Country(countryCode, now) : Zone(best, now);
    }

    /// <summary>Assessments whose review-by is before <paramref name="asOf"/>, oldest due first.</summary>
    public List<Assessment> DueForReview(DateTimeOffset asOf) =>
        [.. _byId.Values.Where(e => !e.IsRetired).Select(e => e.Assessment)
            .Where(a => a.ReviewBy is not null && a.ReviewBy.ToDateTimeOffset() < asOf)
            .OrderBy(a => a.ReviewBy.ToDateTimeOffset()).ThenBy(a => a.AssessmentId, StringComparer.Ordinal)];

    private GetEffectiveLevelResponse Country(string countryCode, DateTimeOffset now)
    {
        if (_byId.TryGetValue(countryCode, out var latest) && latest.InForce(now) is { } country)
        {
            return country.Responses.AsCountry ??= LevelResponses.Encoded(new GetEffectiveLevelResponse
            {
                CountryCode = countryCode,
                Level = country.Assessment.Level,
                CountryLevel = country.Assessment.Level,
                Source = LevelSource.Country,
                Assessment = country.Assessment,
            });
        }

        return new GetEffectiveLevelResponse { CountryCode = countryCode, Source = LevelSource.None };
    }

    private GetEffectiveLevelResponse Zone(AssessmentEntry zone, DateTimeOffset now)
    {
        // A zone's response also carries its country's level, which changes independently of the zone.
        var countryLevel = CountryLevel(zone.CountryCode, now);
        if (zone.Responses.AsZone is { } cached && cached.CountryLevel == countryLevel)
        {
            return cached.Response;
        }

        var response = LevelResponses.Encoded(new GetEffectiveLevelResponse
        {
            CountryCode = zone.CountryCode,
            Level = zone.Assessment.Level,
            Source = LevelSource.Zone,
            Assessment = zone.Assessment,
            CountryLevel = countryLevel,
        });
        zone.Responses.AsZone = new ZoneLevelResponse(countryLevel, response);
        return response;
    }
}

/// <summary>
/// The effective-level responses that read one assessment version: immutable once built, encoded once
/// (<see cref="EncodedMessages"/>), shared by every call that reads them. Two calls racing to build the
/// same one both build an equal response; either may be kept.
/// </summary>
internal sealed class LevelResponses
{
    /// <summary>The response for the country, when this version is a country's.</summary>
    public GetEffectiveLevelResponse? AsCountry { get; set; }

    /// <summary>The response for the zone, with the country level it was built for.</summary>
    public ZoneLevelResponse? AsZone { get; set; }

    /// <summary>Registers the response's bytes and returns it.</summary>
    public static GetEffectiveLevelResponse Encoded(GetEffectiveLevelResponse response)
    {
        EncodedMessages.Register(response);
        return response;
    }
}

/// <summary>A zone's effective-level response, built while its country read <paramref name="CountryLevel"/>.</summary>
internal sealed record ZoneLevelResponse(ThreatLevel CountryLevel, GetEffectiveLevelResponse Response);

/// <summary>A ListAssessments query, normalised (the key of a snapshot's cached lists).</summary>
public readonly record struct ListQuery(string? AfterId, int PageSize, string CountryCode, AssessmentScope Scope, ThreatLevel MinLevel, bool Basic);
