namespace Dcis.Crisis.ThreatLevels.Events;

/// <summary>
/// Inbound topics of threat-levels: none. It is the source of threat-level-changed, crisis-declared
/// and crisis-closed (written through the outbox by Storage/ThreatLevelStore) and listens to nobody.
/// </summary>
internal static class Subscriptions
{
    public static WebApplication MapSubscriptions(this WebApplication app) => app;
}
