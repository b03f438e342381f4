using System.Runtime.InteropServices;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Hsm;

/// <summary>
/// Sets variables in the process's C environment. .NET on Unix keeps its own copy of the environment, so
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> is invisible to a PKCS#11 module's <c>getenv</c>
/// (SoftHSM reads <c>SOFTHSM2_CONF</c>, pkcs11-spy reads <c>PKCS11SPY</c>/<c>PKCS11SPY_OUTPUT</c> at C_Initialize).
/// </summary>
public static class NativeEnvironment
{
    public static void Set(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (Libc.Setenv(name, value, 1) != 0)
            throw new InvalidOperationException($"setenv({name}) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
