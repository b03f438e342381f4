namespace TrustLaunch.Testing;

/// <summary>Polls a probe until it yields a value; a test that waits for a service to act waits through this.</summary>
public static class Eventually
{
    /// <summary>The default patience: long enough for a loaded 2-core CI machine.</summary>
    public static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(40);

    /// <summary>The probe's first non-null value; a <see cref="TimeoutException"/> naming <paramref name="what"/> after the patience.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T?>> probe, Func<string>? what = null, TimeSpan? patience = null) where T : class
    {
        var deadline = DateTime.UtcNow + (patience ?? DefaultPatience);
        while (true)
        {
            if (await probe() is { } value)
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(what?.Invoke() ?? "condition not met in time");
            await Task.Delay(100);
        }
    }

    /// <summary>The probe's first value, for value types.</summary>
    public static async Task<T> WaitForValueAsync<T>(Func<Task<T?>> probe, Func<string> what, TimeSpan? patience = null) where T : struct
    {
        var deadline = DateTime.UtcNow + (patience ?? DefaultPatience);
        while (true)
        {
            if (await probe() is { } value)
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(what());
            await Task.Delay(100);
        }
    }
}
