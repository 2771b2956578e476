using System.Xml.Linq;
using System.Xml.Schema;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Advisories.Tests.Cap;

public class CapDocumentTests
{
    internal static void AssertValid(string xml)
    {
        var schemas = new XmlSchemaSet();
        schemas.Add(CapDocument.Ns.NamespaceName, Path.Combine(AppContext.BaseDirectory, "Cap", "CAP-v1.2.xsd"));
        var errors = new List<string>();
        XDocument.Parse(xml).Validate(schemas, (_, e) => errors.Add(e.Message));
        Assert.Empty(errors);
    }

    [Fact]
    public void PolygonAdvisory_IsValidCap12_WithTwoLanguages_AndClosedRing()
    {
        var advisory = new Advisory
        {
            AdvisoryId = "adv-1", CompanyId = "acme", Sequence = 4, Cause = AdvisoryCause.LevelChanged, CauseEventId = "ev-1",
            Area = TestEvents.Polygon("ML", (15, -5), (15, 0), (20, 0)), NewLevel = ThreatLevel.DoNotTravel, PreviousLevel = ThreatLevel.AvoidNonEssential,
            Headline = new LocalizedText { Fr = "Mali : niveau 4", En = "Mali: level 4" },
            Description = new LocalizedText { Fr = "Coup d'état & couvre-feu <nuit>", En = "Coup & curfew <night>" },
            RecommendedMeasures = { new LocalizedText { Fr = "Évacuer.", En = "Evacuate." } },
            AffectedSites = { new AffectedSite { SiteId = "s1", Name = "Gao base" } },
            IssuedAt = Timestamp.FromDateTime(new DateTime(2026, 11, 29, 15, 0, 0, DateTimeKind.Utc)),
        };

        var xml = CapDocument.Build(advisory).ToString();
        AssertValid(xml);
        var doc = XDocument.Parse(xml);
        Assert.Equal(2, doc.Descendants(CapDocument.Ns + "info").Count());
        Assert.Equal("Extreme", doc.Descendants(CapDocument.Ns + "severity").First().Value);
        var ring = doc.Descendants(CapDocument.Ns + "polygon").First().Value.Split(' ');
        Assert.Equal(ring[0], ring[^1]);
        Assert.Equal("2026-11-29T15:00:00+00:00", doc.Descendants(CapDocument.Ns + "sent").Single().Value);
    }

    [Fact]
    public void Schema_Rejects_AnAlertWithoutIdentifier()
    {
        var broken = CapDocument.Build(new Advisory
        {
            AdvisoryId = "adv-2", CompanyId = "acme", Area = new Area { CountryCode = "ML" }, Headline = new LocalizedText(), Description = new LocalizedText(),
            IssuedAt = Timestamp.FromDateTime(DateTime.UtcNow),
        });
        broken.Root!.Element(CapDocument.Ns + "identifier")!.Remove();
        Assert.Throws<Xunit.Sdk.EmptyException>(() => AssertValid(broken.ToString()));
    }

    [Fact]
    public void Cap_Files_Cybercrime_Under_Infra_Not_Cbrne()
    {
        var advisory = new Advisory
        {
            AdvisoryId = "adv-cyber", CompanyId = "acme", Cause = AdvisoryCause.LevelChanged, Area = new Area { CountryCode = "EE" },
            NewLevel = ThreatLevel.Increased, Headline = new LocalizedText { Fr = "EE : niveau 2", En = "EE: level 2" },
            Description = new LocalizedText { Fr = "Attaques informatiques.", En = "Cyber attacks." },
            Categories = { new CategoryRating { Category = ThreatCategory.Cybercrime, Severity = Severity.High } },
            IssuedAt = Timestamp.FromDateTime(DateTime.UtcNow),
        };

        var xml = CapDocument.Build(advisory).ToString();

        AssertValid(xml);
        var categories = XDocument.Parse(xml).Descendants(CapDocument.Ns + "category").Select(c => c.Value).ToHashSet();
        Assert.Contains("Infra", categories);
        Assert.DoesNotContain("CBRNE", categories);
    }
}
