using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.Advisories.Briefing;

/// <summary>Builds a pre-travel briefing from threat-levels' country briefing (plain rules, no I/O).</summary>
internal static class BriefingBuilder
{
    public static GetBriefingResponse Build(GetBriefingRequest request, GetCountryBriefingResponse source, MeasuresCatalogue measures)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(source);
        var country = source.CountryAssessment;
        var response = new GetBriefingResponse
        {
            CountryCode = request.CountryCode,
            City = request.City,
            CountryLevel = country?.Level ?? ThreatLevel.Unspecified,
            Summary = country?.Summary ?? new LocalizedText(),
            Advice = country?.Advice ?? new LocalizedText(),
            CountryVersion = country?.Version ?? 0,
            AsOf = source.AsOf,
        };
        if (country is not null)
        {
            response.Categories.AddRange(country.Categories);
        }

        var effective = response.CountryLevel;
        var bestRank = -1;
        foreach (var zone in source.Zones)
        {
            var matcher = new AreaMatcher(zone.Area);
            var inside = matcher.Contains(request.CountryCode, request.SubdivisionCode, request.Location?.Latitude, request.Location?.Longitude);
            response.Zones.Add(new BriefingZone { AssessmentId = zone.AssessmentId, Area = zone.Area, Level = zone.Level, ContainsDestination = inside });
            if (!inside)
            {
                continue;
            }

            // Most specific zone wins: a polygon or circle over a subdivision; between equals, the higher level.
            var rank = zone.Area.Polygon is not null || zone.Area.Circle is not null ? 2 : 1;
            if (rank > bestRank || (rank == bestRank && zone.Level > effective))
            {
                bestRank = rank;
                effective = zone.Level;
            }
        }

        response.EffectiveLevel = effective;
        foreach (var crisis in source.ActiveCrises)
        {
            response.ActiveCrises.Add(new BriefingCrisis
            {
                CrisisId = crisis.CrisisId, Kind = crisis.Kind, Title = crisis.Title, Area = crisis.Area, StartTime = crisis.StartTime,
            });
        }

        response.RecommendedMeasures.AddRange(measures.For(effective));
        return response;
    }
}
