using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>Whether an event interests a subscription (its area is checked by <see cref="AreaMatcher"/>).</summary>
internal static class SubscriptionRule
{
    public static bool Matches(Subscription subscription, AdvisoryTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(trigger);

        // A lowering from 3 to 2 matters to a "level 3 and above" subscriber: the higher of both levels decides.
        if (subscription.MinimumLevel != ThreatLevel.Unspecified && trigger.MaxLevel < subscription.MinimumLevel)
        {
            return false;
        }

        if (subscription.Categories.Count == 0 || trigger.Cause != AdvisoryCause.LevelChanged)
        {
            return true;
        }

        var involved = trigger.Categories.Select(c => c.Category).Concat(trigger.CategoriesAdded).Concat(trigger.CategoriesRemoved);
        return involved.Intersect(subscription.Categories).Any();
    }
}
