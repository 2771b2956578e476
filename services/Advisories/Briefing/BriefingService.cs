using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.Advisories.Briefing;

/// <summary>Pre-travel briefings: threat-levels' country data through the cache, then the briefing rules.</summary>
internal sealed class BriefingService(BriefingCache cache, MeasuresCatalogue measures, IServiceProvider services)
{
    public async Task<GetBriefingResponse> GetAsync(GetBriefingRequest request, string? bearerToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var country = request.CountryCode;
        if (!cache.TryGet(country, out var source))
        {
            var client = services.GetService(typeof(ThreatLevelsService.ThreatLevelsServiceClient)) as ThreatLevelsService.ThreatLevelsServiceClient
                ?? throw new ConflictException("briefings need the threat-levels address (setting Services:ThreatLevels)", "NOT_CONFIGURED");
            var generation = cache.Generation(country);
            var headers = new Metadata();
            if (!string.IsNullOrEmpty(bearerToken))
            {
                headers.Add("Authorization", bearerToken);
            }

            source = await client.GetCountryBriefingAsync(new GetCountryBriefingRequest { CountryCode = country }, headers, cancellationToken: ct);
            cache.Store(country, generation, source);
        }

        return BriefingBuilder.Build(request, source, measures);
    }
}
