// Top-level build file. Versions are pinned in gradle/libs.versions.toml.
plugins {
    alias(libs.plugins.android.application) apply false
}
