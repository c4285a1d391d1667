//! Horizontal usage bars (disks) and the number formats the views share.

/// A bar of `width` cells filled to `pct` (0-100), readable without colour.
pub fn usage_bar(pct: f64, width: usize) -> String {
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    let mut s = String::with_capacity(width * 3);
    for i in 0..width {
        s.push(if i < filled { '█' } else { '░' });
    }
    s
}

/// Bytes (or bytes per second) in a short human form: 512B, 1.2K, 34M, 1.5G.
pub fn human_bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut v = v.max(0.0);
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v >= 10.0 {
        format!("{v:.0}{}", UNITS[u])
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

/// A duration in its two largest units: 45s, 12m, 5h12m, 12d3h.
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// How long ago, coarse: 3s, 5m, 2h, 4d.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_round_to_cells() {
        assert_eq!(usage_bar(50.0, 4), "██░░");
        assert_eq!(usage_bar(120.0, 3), "███");
        assert_eq!(usage_bar(-1.0, 2), "░░");
    }

    #[test]
    fn formats() {
        assert_eq!(human_bytes(512.0), "512B");
        assert_eq!(human_bytes(1536.0), "1.5K");
        assert_eq!(human_bytes(35.0 * 1024.0 * 1024.0), "35M");
        assert_eq!(human_duration(45.0), "45s");
        assert_eq!(human_duration(3.0 * 86_400.0 + 7200.0), "3d2h");
        assert_eq!(human_duration(5.0 * 3600.0 + 720.0), "5h12m");
        assert_eq!(human_age(125), "2m");
    }
}
