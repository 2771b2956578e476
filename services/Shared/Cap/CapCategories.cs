using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Shared.Cap;

/// <summary>
/// The CAP 1.2 <c>&lt;category&gt;</c> of a threat category, one mapping for every CAP document the
/// services write (consular alerts, company advisories), so that a reader filing by category sees the
/// same threat under the same category whoever sent it.
/// </summary>
public static class CapCategories
{
    public static string Of(ThreatCategory category) => category switch
    {
        ThreatCategory.NaturalHazards => "Geo",
        ThreatCategory.Health => "Health",
        // CAP's "CBRNE" is chemical, biological, radiological, nuclear or explosive; cybercrime strikes infrastructure.
        ThreatCategory.Cybercrime => "Infra",
        _ => "Security",
    };
}
