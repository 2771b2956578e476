using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>Validation of areas, drafts and crises, and the threat-level business rules.</summary>
public static class Rules
{
    /// <summary>Longest zone name, in characters.</summary>
    public const int MaxZoneNameLength = 200;

    /// <summary>Most subdivision codes in one zone.</summary>
    public const int MaxSubdivisions = 200;

    /// <summary>Validates an area (country, subdivisions of it, polygon or circle); field names under <paramref name="prefix"/>.</summary>
    public static void ValidateArea(Validator v, string prefix, Area? area, CountryCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(catalog);
        if (area is null)
        {
            v.Add(prefix, "is required");
            return;
        }

        if (string.IsNullOrEmpty(area.CountryCode))
        {
            v.Add($"{prefix}.country_code", "is required");
        }
        else if (!catalog.IsCountry(area.CountryCode))
        {
            v.Add($"{prefix}.country_code", "must be an ISO 3166-1 alpha-2 code (upper case), e.g. ML");
        }

        v.MaxLength($"{prefix}.zone_name", area.ZoneName, MaxZoneNameLength);
        var narrowings = (area.SubdivisionCodes.Count > 0 ? 1 : 0) + (area.Polygon is not null ? 1 : 0) + (area.Circle is not null ? 1 : 0);
        if (narrowings > 1)
        {
            v.Add(prefix, "at most one of subdivision_codes, polygon or circle may be set");
            return;
        }

        if (area.SubdivisionCodes.Count > MaxSubdivisions)
        {
            v.Add($"{prefix}.subdivision_codes", $"at most {MaxSubdivisions} codes");
        }
        else
        {
            for (var i = 0; i < area.SubdivisionCodes.Count; i++)
            {
                var code = area.SubdivisionCodes[i];
                var field = $"{prefix}.subdivision_codes[{i}]";
                if (catalog.FindSubdivision(code) is null)
                {
                    v.Add(field, "must be an ISO 3166-2 subdivision code, e.g. ML-7");
                }
                else if (!string.Equals(CountryCatalog.CountryOf(code), area.CountryCode, StringComparison.Ordinal))
                {
                    v.Add(field, $"is not a subdivision of {area.CountryCode}");
                }
            }

            if (area.SubdivisionCodes.Distinct(StringComparer.Ordinal).Count() != area.SubdivisionCodes.Count)
            {
                v.Add($"{prefix}.subdivision_codes", "must not repeat a code");
            }
        }

        if (area.Polygon is not null)
        {
            ValidatePolygon(v, $"{prefix}.polygon", area.Polygon);
        }

        if (area.Circle is not null)
        {
            ValidateCircle(v, $"{prefix}.circle", area.Circle);
        }
    }

    private static void ValidatePolygon(Validator v, string field, Common.V1.Polygon polygon)
    {
        var count = polygon.Vertices.Count;
        if (count < 3 || count > Limits.MaxPolygonVertices)
        {
            v.Add($"{field}.vertices", $"must have 3 to {Limits.MaxPolygonVertices} vertices (got {count})");
            return;
        }

        for (var i = 0; i < count; i++)
        {
            if (!IsValidPoint(polygon.Vertices[i]))
            {
                v.Add($"{field}.vertices[{i}]", "latitude must be within -90..90 and longitude within -180..180");
                return;
            }
        }

        var shape = ZoneShape.BuildPolygon(polygon);
        if (!shape.IsValid)
        {
            v.Add(field, "must be a simple polygon (no self-intersection, no repeated ring)");
        }
        else if (shape.Area <= 0)
        {
            v.Add(field, "must enclose an area");
        }
    }

    private static void ValidateCircle(Validator v, string field, Circle circle)
    {
        if (circle.Center is null || !IsValidPoint(circle.Center))
        {
            v.Add($"{field}.center", "is required: latitude within -90..90, longitude within -180..180");
        }

        v.Check(circle.RadiusMeters > 0 && circle.RadiusMeters <= Limits.MaxCircleRadiusMeters, $"{field}.radius_meters",
            $"must be greater than 0 and at most {Limits.MaxCircleRadiusMeters}");
    }

    /// <summary>Whether the point is a valid WGS 84 coordinate.</summary>
    public static bool IsValidPoint(LatLng? p) =>
        p is not null && double.IsFinite(p.Latitude) && double.IsFinite(p.Longitude) &&
        p.Latitude is >= -90 and <= 90 && p.Longitude is >= -180 and <= 180;

    /// <summary>Whether the area narrows its country (a zone) rather than covering all of it.</summary>
    public static bool IsZone(Area area)
    {
        ArgumentNullException.ThrowIfNull(area);
        return area.SubdivisionCodes.Count > 0 || area.Polygon is not null || area.Circle is not null;
    }

    /// <summary>Validates an assessment draft (shape only; versions and permissions are checked by the store).</summary>
    public static void ValidateDraft(Validator v, AssessmentDraft? draft, CountryCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (draft is null)
        {
            v.Add("assessment", "is required");
            return;
        }

        ValidateArea(v, "assessment.area", draft.Area, catalog);
        v.Check(draft.Level is >= ThreatLevel.Normal and <= ThreatLevel.DoNotTravel || (draft.Level == ThreatLevel.Unspecified && !string.IsNullOrEmpty(draft.AssessmentId)),
            "assessment.level", "must be a level from 1 (NORMAL) to 4 (DO_NOT_TRAVEL), or UNSPECIFIED with the assessment_id of a zone to retire it");
        var seen = new HashSet<ThreatCategory>();
        for (var i = 0; i < draft.Categories.Count; i++)
        {
            var c = draft.Categories[i];
            v.Check(System.Enum.IsDefined(c.Category) && c.Category != ThreatCategory.Unspecified, $"assessment.categories[{i}].category", "must be a known category");
            v.Check(System.Enum.IsDefined(c.Severity) && c.Severity != Severity.Unspecified, $"assessment.categories[{i}].severity", "must be LOW, MODERATE, HIGH or SEVERE");
            v.Check(seen.Add(c.Category), $"assessment.categories[{i}].category", "is rated twice");
        }

        ValidateText(v, "assessment.summary", draft.Summary, Limits.MaxTextLength);
        ValidateText(v, "assessment.advice", draft.Advice, Limits.MaxTextLength);
        v.Required("assessment.reason", draft.Reason);
        v.Check(draft.ExpectedVersion >= 0, "assessment.expected_version", "must be 0 (new) or the current version");
        v.MaxLength("assessment.assessment_id", draft.AssessmentId, 100);
        v.MaxLength("assessment.corrects_change_id", draft.CorrectsChangeId, 100);
        ValidateTimestamp(v, "assessment.effective_time", draft.EffectiveTime);
        ValidateTimestamp(v, "assessment.review_by", draft.ReviewBy);
        if (draft.ReviewBy is not null && draft.EffectiveTime is not null && draft.ReviewBy.ToDateTimeOffset() <= draft.EffectiveTime.ToDateTimeOffset())
        {
            v.Add("assessment.review_by", "must be after effective_time");
        }
    }

    /// <summary>Validates a crisis draft.</summary>
    public static void ValidateCrisis(Validator v, CrisisDraft? draft, CountryCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (draft is null)
        {
            v.Add("crisis", "is required");
            return;
        }

        v.Check(draft.Kind is >= CrisisKind.Attack and <= CrisisKind.Other, "crisis.kind", "must be a known crisis kind");
        ValidateArea(v, "crisis.area", draft.Area, catalog);
        ValidateTitle(v, "crisis.title", draft.Title);
        ValidateText(v, "crisis.description", draft.Description, Limits.MaxTextLength);
        ValidateTimestamp(v, "crisis.start_time", draft.StartTime);
        v.Required("crisis.reason", draft.Reason);
    }

    /// <summary>A title: fr or en required, each short.</summary>
    public static void ValidateTitle(Validator v, string field, LocalizedText? title)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (title is null || (string.IsNullOrWhiteSpace(title.Fr) && string.IsNullOrWhiteSpace(title.En)))
        {
            v.Add(field, "is required (fr or en)");
            return;
        }

        ValidateText(v, field, title, Limits.MaxShortTextLength);
    }

    /// <summary>Both languages within the length.</summary>
    public static void ValidateText(Validator v, string field, LocalizedText? text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (text is null)
        {
            return;
        }

        v.MaxLength($"{field}.fr", text.Fr, maxLength);
        v.MaxLength($"{field}.en", text.En, maxLength);
    }

    private static void ValidateTimestamp(Validator v, string field, Timestamp? t)
    {
        if (t is null)
        {
            return;
        }

        v.Check(t.Seconds is > 0 and < 253402300800 && t.Nanos is >= 0 and < 1_000_000_000, field, "must be a valid time after 1970");
    }

    /// <summary>Raising to level 4 is sensitive (mass messaging): it needs a second analyst unless emergency.</summary>
    public static bool NeedsFourEyes(ThreatLevel previous, ThreatLevel next) =>
        next == ThreatLevel.DoNotTravel && previous != ThreatLevel.DoNotTravel;

    /// <summary>Default review period: 12 months for levels 1-2, 6 months for 3-4.</summary>
    public static DateTimeOffset DefaultReviewBy(ThreatLevel level, DateTimeOffset effective) =>
        level >= ThreatLevel.AvoidNonEssential ? effective.AddMonths(6) : effective.AddMonths(12);

    /// <summary>Categories in <paramref name="after"/> not in <paramref name="before"/>.</summary>
    public static IEnumerable<ThreatCategory> Added(IEnumerable<CategoryRating> before, IEnumerable<CategoryRating> after)
    {
        var old = before.Select(c => c.Category).ToHashSet();
        return after.Select(c => c.Category).Where(c => !old.Contains(c)).Order();
    }

    /// <summary>A country code (upper case, two letters) or throws InvalidArgument on the field.</summary>
    public static void RequireCountry(string field, string? code, CountryCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (!catalog.IsCountry(code))
        {
            throw ValidationFailedException.For(field, "must be an ISO 3166-1 alpha-2 code (upper case), e.g. ML");
        }
    }
}
