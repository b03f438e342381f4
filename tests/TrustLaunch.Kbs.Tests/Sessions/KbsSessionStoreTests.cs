using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Kbs.Sessions;

namespace TrustLaunch.Kbs.Tests.Sessions;

public sealed class KbsSessionStoreTests
{
    [Fact]
    public void Create_MaxSessionsLive_503UntilSomeExpire()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var store = new KbsSessionStore(TimeSpan.FromMinutes(1), clock, maxSessions: 2);
        store.Create("tpm");
        store.Create("tpm");

        var e = Assert.Throws<KbsError>(() => store.Create("tpm"));
        clock.Advance(TimeSpan.FromMinutes(1));
        var later = store.Create("tpm");

        Assert.Equal((503, KbsErrorNames.ServiceUnavailable, "the broker holds 2 live sessions: try again when some have expired"), (e.Status, e.Name, e.Message));
        Assert.Same(later, store.Get(later.Id.ToString("D")));
    }

    [Fact]
    public void Get_AfterTimeout_ExpiredCookieThenUnknown()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var store = new KbsSessionStore(TimeSpan.FromMinutes(1), clock);
        var id = store.Create("tpm").Id.ToString("D");
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(KbsErrorNames.ExpiredCookie, Assert.Throws<KbsError>(() => store.Get(id)).Name);
        Assert.Equal(KbsErrorNames.InvalidCookie, Assert.Throws<KbsError>(() => store.Get(id)).Name);
    }
}
