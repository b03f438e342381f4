using System.Globalization;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Tests.Storage;

/// <summary>The clock, lease length and instances the lease and batch store tests share.</summary>
internal static class LeaseTestData
{
    public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-26T08:00:00Z", CultureInfo.InvariantCulture);
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);
    public static readonly HashSet<string> NoneInFlight = [];

    public static VerifierInstance Instance(string id) => new(id, "trustlaunch-verifier/" + id, "kid-" + id, "PEM " + id, Now);
}
