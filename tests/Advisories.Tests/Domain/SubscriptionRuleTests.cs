using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Advisories.Tests.Domain;

public class SubscriptionRuleTests
{
    [Fact]
    public void MinimumLevel_IsCompared_WithTheHigherOfOldAndNewLevel()
    {
        var subscription = new Subscription { CountryCodes = { "ML" }, MinimumLevel = ThreatLevel.AvoidNonEssential };
        var raiseTo2 = AdvisoryTrigger.From(TestEvents.LevelChanged("ML", 2, ThreatLevel.Increased, ThreatLevel.Normal));
        var lowerFrom3 = AdvisoryTrigger.From(TestEvents.LevelChanged("ML", 3, ThreatLevel.Increased, ThreatLevel.AvoidNonEssential));
        Assert.False(SubscriptionRule.Matches(subscription, raiseTo2));
        Assert.True(SubscriptionRule.Matches(subscription, lowerFrom3));
    }

    [Fact]
    public void Categories_MustBeInvolvedInTheChange()
    {
        var trigger = AdvisoryTrigger.From(TestEvents.LevelChanged("ML", 2, ThreatLevel.Increased));   // rates civil unrest
        Assert.True(SubscriptionRule.Matches(new Subscription { Categories = { ThreatCategory.CivilUnrest } }, trigger));
        Assert.False(SubscriptionRule.Matches(new Subscription { Categories = { ThreatCategory.Health } }, trigger));
    }
}
