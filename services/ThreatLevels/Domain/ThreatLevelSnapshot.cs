using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>One current assessment with what lookups need precomputed.</summary>
public sealed record AssessmentEntry(Assessment Assessment, ZoneShape? Shape, Assessment Basic)
{
    /// <summary>The country the assessment is in.</summary>
    public string CountryCode => Assessment.Area.CountryCode;

    /// <summary>Whether it is a zone (not the whole country).</summary>
    public bool IsZone => Rules.IsZone(Assessment.Area);

    /// <summary>Builds the entry (and the zone's shape) for an assessment.</summary>
    public static AssessmentEntry Of(Assessment assessment)
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
        return new AssessmentEntry(assessment, ZoneShape.Of(assessment.Area), basic);
    }
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

    private ThreatLevelSnapshot(Dictionary<string, AssessmentEntry> byId, long latestSequence)
    {
        _byId = byId;
        LatestSequence = latestSequence;
        _sortedIds = [.. byId.Keys.Order(StringComparer.Ordinal)];
        _zonesByCountry = byId.Values.Where(e => e.IsZone)
            .GroupBy(e => e.CountryCode, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.Assessment.AssessmentId, StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
    }

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
        new(assessments.Select(AssessmentEntry.Of).ToDictionary(e => e.Assessment.AssessmentId, StringComparer.Ordinal), latestSequence);

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

    /// <summary>The country's own level (UNSPECIFIED when never assessed).</summary>
    public ThreatLevel CountryLevel(string countryCode) =>
        _byId.TryGetValue(countryCode, out var e) ? e.Assessment.Level : ThreatLevel.Unspecified;

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
            var entry = _byId[_sortedIds[i]];
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

    /// <summary>The level of a whole country, with its zones.</summary>
    public GetEffectiveLevelResponse ForCountry(string countryCode)
    {
        var response = Country(countryCode);
        foreach (var zone in ZonesOf(countryCode))
        {
            response.Zones.Add(zone.Assessment);
        }

        return response;
    }

    /// <summary>The level of one assessment (zone or country); null when unknown.</summary>
    public GetEffectiveLevelResponse? ForAssessment(string assessmentId)
    {
        if (Find(assessmentId) is not { } entry)
        {
            return null;
        }

        return entry.IsZone ? Zone(entry) : Country(entry.CountryCode);
    }

    /// <summary>The most specific zone naming the subdivision (or, failing that, one of its parents), else the country.</summary>
    public GetEffectiveLevelResponse ForSubdivision(string subdivisionCode, CountryCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var country = CountryCatalog.CountryOf(subdivisionCode);
        foreach (var code in catalog.SelfAndAncestors(subdivisionCode))
        {
            AssessmentEntry? best = null;
            foreach (var zone in ZonesOf(country))
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
                return Zone(best);
            }

        }

        return Country(country);
    }

    /// <summary>The smallest polygon or circle zone of the country containing the point, else the country.</summary>
    public GetEffectiveLevelResponse ForPoint(string countryCode, LatLng point)
    {
        AssessmentEntry? best = null;
        foreach (var zone in ZonesOf(countryCode))
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

        return best is null ? Country(countryCode) : Zone(best);
    }

    /// <summary>Assessments whose review-by is before <paramref name="asOf"/>, oldest due first.</summary>
    public List<Assessment> DueForReview(DateTimeOffset asOf) =>
        [.. _byId.Values.Select(e => e.Assessment)
            .Where(a => a.ReviewBy is not null && a.ReviewBy.ToDateTimeOffset() < asOf)
            .OrderBy(a => a.ReviewBy.ToDateTimeOffset()).ThenBy(a => a.AssessmentId, StringComparer.Ordinal)];

    private GetEffectiveLevelResponse Country(string countryCode)
    {
        var response = new GetEffectiveLevelResponse { CountryCode = countryCode };
        if (_byId.TryGetValue(countryCode, out var country))
        {
            response.Level = country.Assessment.Level;
            response.CountryLevel = country.Assessment.Level;
            response.Source = LevelSource.Country;
            response.Assessment = country.Assessment;
        }
        else
        {
            response.Source = LevelSource.None;
        }

        return response;
    }

    private GetEffectiveLevelResponse Zone(AssessmentEntry zone) => new()
    {
        CountryCode = zone.CountryCode,
        Level = zone.Assessment.Level,
        Source = LevelSource.Zone,
        Assessment = zone.Assessment,
        CountryLevel = CountryLevel(zone.CountryCode),
    };
}
