using Net.Pkcs11Interop.Common;

namespace TrustLaunch.Hsm;

/// <summary>
/// The one wrapper between Pkcs11Interop and callers: a non-OK return value (which Pkcs11Interop raises as
/// <see cref="Pkcs11Exception"/>) becomes an <see cref="HsmException"/> naming the function and the CKR code.
/// </summary>
internal static class Pkcs11Call
{
    public static T Run<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (Pkcs11Exception e)
        {
            throw Translate(e);
        }
    }

    public static void Run(Action call)
    {
        try
        {
            call();
        }
        catch (Pkcs11Exception e)
        {
            throw Translate(e);
        }
    }

    public static HsmException Translate(Pkcs11Exception e) => new(e.Method, e.RV.ToString(), inner: e);
}
