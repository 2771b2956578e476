using System.Xml.Linq;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.Tests.Cap;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Advisories.Tests.Domain;

public class AdvisoryTriggerTests
{
    [Fact]
    public void Categories_Added_And_Removed_Read_As_Words_In_Each_Language()
    {
        var change = TestEvents.LevelChanged("ML", 2, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential);
        change.CategoriesAdded.Clear();
        change.CategoriesAdded.Add([ThreatCategory.Terrorism, ThreatCategory.ArmedConflict]);
        change.CategoriesRemoved.Add(ThreatCategory.CrimeAndKidnapping);

        var description = AdvisoryTrigger.From(change).Description;

        Assert.Contains("Catégories ajoutées : terrorisme, conflit armé.", description.Fr, StringComparison.Ordinal);
        Assert.Contains("Catégories retirées : criminalité et enlèvements.", description.Fr, StringComparison.Ordinal);
        Assert.Contains("Categories added: terrorism, armed conflict.", description.En, StringComparison.Ordinal);
        Assert.Contains("Categories removed: crime and kidnapping.", description.En, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_Category_Has_Its_Own_Label_In_Both_Languages()
    {
        var categories = System.Enum.GetValues<ThreatCategory>().Where(c => c != ThreatCategory.Unspecified).ToList();
        foreach (var fr in new[] { true, false })
        {
            var labels = categories.Select(c => AdvisoryTrigger.CategoryLabel(c, fr)).ToList();
            Assert.All(labels, l => Assert.True(l.Any(char.IsLetter) && !l.Contains('_', StringComparison.Ordinal), l));
            Assert.Equal(labels.Count, labels.Distinct(StringComparer.Ordinal).Count());
        }
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

        CapDocumentTests.AssertValid(xml);
        var categories = XDocument.Parse(xml).Descendants(CapDocument.Ns + "category").Select(c => c.Value).ToHashSet();
        Assert.Contains("Infra", categories);
        Assert.DoesNotContain("CBRNE", categories);
    }
}
