using TrustLaunch.Hsm;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests.Resources;

/// <summary>Two AES-256 encrypt keys on a SoftHSM token of the class: the broker's wrap key and another one.</summary>
public sealed class WrapKeyFixture : IAsyncLifetime
{
    private readonly SoftHsmFixture _hsm = new();

    public HsmResourceKeyWrapper Wrapper { get; private set; } = null!;
    public HsmResourceKeyWrapper Other { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _hsm.InitializeAsync();
        using (var session = _hsm.OpenSession())
        {
            foreach (var label in new[] { "wrap", "other" })
                session.GenerateKey(new HsmKeySpec(HsmKeyKind.Aes, 256), new HsmKeyOptions { Label = label, Usage = HsmKeyUsage.Encrypt });
            session.GenerateKey(new HsmKeySpec(HsmKeyKind.Aes, 256), new HsmKeyOptions { Label = "wrap-only" });
        }
        Wrapper = Open("wrap");
        Other = Open("other");
    }

    public HsmResourceKeyWrapper Open(string label) =>
        HsmResourceKeyWrapper.Open(_hsm.Module, Pkcs11Uri.Parse($"pkcs11:token={_hsm.TokenLabel};object={label}"), SoftHsmFixture.UserPin);

    public Task DisposeAsync()
    {
        Wrapper.Dispose();
        Other.Dispose();
        return Task.CompletedTask;
    }
}
