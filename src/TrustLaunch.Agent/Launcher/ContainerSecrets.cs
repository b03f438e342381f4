using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Secrets;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// A container's sealed secrets as files: every secret is unsealed first (each measured <c>SecretReleased</c> by the
/// unsealer, a refusal ends the launch before anything is mounted), then a tmpfs of their size is mounted at
/// <c>DATA/containers/NAME/secrets</c>, the values written as <c>NAME</c> (0444) and the tmpfs remounted read-only;
/// the bundle binds it read-only at <see cref="ContainerPath"/>. The values live in memory only (tmpfs pages may be
/// swapped: run without swap or with encrypted swap); <see cref="ContainerDirectory.Discard"/> unmounts the tmpfs.
/// </summary>
public static class ContainerSecrets
{
    public const string ContainerPath = "/run/secrets";

    private const int PageBytes = 4096;

    /// <summary>Unseals and mounts <paramref name="secrets"/> for <paramref name="container"/>; the bind its bundle needs, or none.</summary>
    /// <exception cref="SecretRefusedException">A secret was refused (its form, its signature, the broker).</exception>
    public static async Task<IReadOnlyList<ReadOnlyBind>> MountAsync(ContainerDirectory container, IReadOnlyList<LaunchSecret> secrets, SecretUnsealer? unseal,
        CancellationToken cancellationToken)
    {
        if (secrets.Count == 0)
            return [];
        if (unseal is null)
            throw new LauncherException("this launcher cannot unseal secrets: only the agent started with --kbs and --secret-trust can");
        LaunchSecret.CheckNames(secrets.Select(s => s.Name));
        var values = new List<byte[]>(secrets.Count);
        try
        {
            foreach (var secret in secrets)
                values.Add(await UnsealAsync(unseal, secret, cancellationToken).ConfigureAwait(false));
            MountFiles(container.Secrets, [.. secrets.Select((s, i) => (s.Name, values[i]))]);
        }
        finally
        {
            foreach (var value in values)
                CryptographicOperations.ZeroMemory(value);
        }
        return [new ReadOnlyBind(container.Secrets, ContainerPath)];
    }

    /// <summary>The record of what a container was given: names and sealed digests.</summary>
    public static IReadOnlyList<ContainerSecretRecord>? Records(IReadOnlyList<LaunchSecret> secrets) =>
        secrets.Count == 0 ? null : [.. secrets.Select(s => new ContainerSecretRecord(s.Name, SealedSecret.DigestOf(s.SealedText)))];

    private static async Task<byte[]> UnsealAsync(SecretUnsealer unseal, LaunchSecret secret, CancellationToken cancellationToken)
    {
        try
        {
            return await unseal(secret.Name, secret.SealedText, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SealedSecretException or KbsRefusedException or TrustLaunch.Agent.Kbs.ResourceUriRefusedException)
        {
            throw new SecretRefusedException(secret.Name, e.Message, e);
        }
    }

    /// <summary>
    /// Mounts a tmpfs just big enough at <paramref name="directory"/>, writes each value at its relative path (0444; a
    /// parent directory is made 0755) and remounts it read-only. The caller zeroes the values.
    /// </summary>
    public static void MountFiles(string directory, IReadOnlyList<(string Path, byte[] Value)> files)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("secrets on a tmpfs need Linux");
        Directory.CreateDirectory(directory, PrivateDirectory.Mode);
        // A page per file and per directory more than the values need: nothing else fits.
        var size = checked(files.Sum(f => (long)(f.Value.Length + PageBytes - 1) / PageBytes * PageBytes) + (long)PageBytes * (2 * files.Count + 1));
        const ulong flags = Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC;
        if (Libc.Mount("tmpfs", directory, "tmpfs", flags, $"mode=0755,size={size},nr_inodes={2 * files.Count + 2}") != 0)
            throw new IOException($"cannot mount the secrets tmpfs at '{directory}': errno {Marshal.GetLastPInvokeError()}");
        foreach (var (path, value) in files)
        {
            var file = Path.Combine(directory, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            using var stream = new FileStream(file, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            });
            stream.Write(value);
        }
        if (Libc.Mount("tmpfs", directory, "tmpfs", Libc.MS_REMOUNT | Libc.MS_RDONLY | flags, "") != 0)
            throw new IOException($"cannot remount the secrets tmpfs at '{directory}' read-only: errno {Marshal.GetLastPInvokeError()}");
    }
}
