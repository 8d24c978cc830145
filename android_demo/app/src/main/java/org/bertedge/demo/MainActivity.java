package org.bertedge.demo;

import android.os.Bundle;
import android.view.View;
import android.widget.TextView;

import androidx.appcompat.app.AppCompatActivity;
import androidx.fragment.app.Fragment;
import androidx.lifecycle.ViewModelProvider;

import com.google.android.material.bottomnavigation.BottomNavigationView;
import com.google.android.material.progressindicator.LinearProgressIndicator;

/** Three screens (Classify, Self-test, Model info) over one shared {@link DemoViewModel}. */
public final class MainActivity extends AppCompatActivity {
    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        DemoViewModel vm = new ViewModelProvider(this).get(DemoViewModel.class);

        LinearProgressIndicator bar = findViewById(R.id.busy_bar);
        TextView busyText = findViewById(R.id.busy_text);
        vm.busy().observe(this, msg -> {
            int v = msg == null ? View.GONE : View.VISIBLE;
            bar.setVisibility(v);
            busyText.setVisibility(v);
            busyText.setText(msg);
        });

        BottomNavigationView nav = findViewById(R.id.bottom_nav);
        nav.setOnItemSelectedListener(item -> {
            show(item.getItemId());
            return true;
        });
        if (savedInstanceState == null) {
            nav.setSelectedItemId(R.id.nav_classify);
        }
    }

    private void show(int itemId) {
        String tag = "tab" + itemId;
        Fragment shown = getSupportFragmentManager().findFragmentByTag(tag);
        if (shown != null && shown.isAdded()) {
            return;
        }
        Fragment f;
        if (itemId == R.id.nav_self_test) {
            f = new SelfTestFragment();
        } else if (itemId == R.id.nav_model_info) {
            f = new ModelInfoFragment();
        } else {
            f = new ClassifyFragment();
        }
        getSupportFragmentManager().beginTransaction().replace(R.id.content, f, tag).commit();
    }
}
