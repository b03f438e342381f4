namespace TrustLaunch.Hosting.Storage;

/// <summary>One schema step of a service's store: applied once, in version order, inside its own transaction.</summary>
public sealed record Migration(int Version, string Name, string Sql);
