using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Common.V1;

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
}
