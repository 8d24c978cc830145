package org.bertedge.demo;

import android.os.Bundle;
import android.view.LayoutInflater;
import android.view.View;
import android.view.ViewGroup;
import android.widget.LinearLayout;
import android.widget.TextView;

import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import androidx.core.content.ContextCompat;
import androidx.fragment.app.Fragment;
import androidx.lifecycle.ViewModelProvider;

import com.google.android.material.button.MaterialButton;

import org.bertedge.core.BackendId;
import org.bertedge.core.Manifest;
import org.bertedge.core.tokenizer.BasicTokenizer;

import java.util.List;
import java.util.Locale;

/** Bundle facts and, per model: file size, sha256 checked against the manifest, shapes. */
public final class ModelInfoFragment extends Fragment {
    private DemoViewModel vm;

    @Nullable
    @Override
    public View onCreateView(@NonNull LayoutInflater inflater, @Nullable ViewGroup container, @Nullable Bundle state) {
        return inflater.inflate(R.layout.fragment_model_info, container, false);
    }

    @Override
    public void onViewCreated(@NonNull View v, @Nullable Bundle state) {
        vm = new ViewModelProvider(requireActivity()).get(DemoViewModel.class);
        TextView banner = v.findViewById(R.id.banner);
        TextView info = v.findViewById(R.id.bundle_info);
        MaterialButton verify = v.findViewById(R.id.verify);
        verify.setOnClickListener(x -> vm.verifyModels(true));
        vm.bundle().observe(getViewLifecycleOwner(), b -> {
            Ui.banner(banner, b == null || b.ok() ? null : b.error);
            verify.setEnabled(b != null && b.ok());
            if (b == null || !b.ok()) {
                info.setText(null);
                return;
            }
            ModelRepository.LoadedBundle lb = b.value;
            Manifest m = lb.manifest;
            // WordPiece casing comes from the manifest; BPE / Unigram carry theirs in tokenizer.json
            String casing = Manifest.TokenizerEntry.WORDPIECE.equals(m.tokenizer.type)
                    ? String.format(Locale.ROOT, "lowercase %s, strip accents %s", m.doLowerCase, m.stripAccents)
                    : "normalizer from " + m.tokenizer.file.file;
            info.setText(String.format(Locale.ROOT,
                    "student        %s%nteacher        %s%npipeline       %s (bundle format %d)%nlabels         %s%n"
                            + "max length     %d tokens%ntokenizer      %s, %s, %d tokens, sha256 ✓%n               %s, pad id %d%n"
                            + "golden cases   %d%nunicode        tables from HF tokenizers %s%ninputs%n%soutputs%n%s",
                    m.student, m.teacher, m.pipelineVersion, m.formatVersion, m.labels, m.maxSeqLength,
                    m.tokenizer.type, m.tokenizer.file.file, lb.tokenizer.vocabSize(), casing, lb.tokenizer.padId(),
                    lb.golden.size(), BasicTokenizer.tablesVersion(), Ui.tensors(m.inputs), Ui.tensors(m.outputs)));
            if (vm.modelStatus().getValue() == null) {
                vm.verifyModels(false);
            }
        });
        vm.modelStatus().observe(getViewLifecycleOwner(), list -> showModels(v, list));
    }

    private void showModels(View v, List<ModelRepository.ModelStatus> list) {
        LinearLayout models = v.findViewById(R.id.models);
        models.removeAllViews();
        if (list == null) {
            return;
        }
        for (ModelRepository.ModelStatus s : list) {
            Manifest.ModelEntry e = s.entry;
            TextView head = Ui.text(requireContext(), BackendId.displayName(e.backend) + "  —  "
                    + (s.ok() ? "sha256 ✓" : "NOT LOADABLE"), false);
            head.setTextAppearance(com.google.android.material.R.style.TextAppearance_Material3_TitleMedium);
            head.setTextColor(ContextCompat.getColor(requireContext(), s.ok() ? R.color.pass : R.color.fail));
            head.setPadding(0, Ui.dp(requireContext(), 12), 0, 0);
            models.addView(head);
            StringBuilder sb = new StringBuilder();
            sb.append("file      ").append(e.file).append(" (").append(e.format).append(")\n");
            sb.append("quant     ").append(e.quantization.isEmpty() ? "?" : e.quantization).append('\n');
            sb.append("size      ").append(Ui.size(s.actualSize));
            if (s.present && s.actualSize != e.sizeBytes) {
                sb.append("  manifest: ").append(e.sizeBytes);
            }
            sb.append("\nsha256    ").append(e.sha256).append(" (manifest)\n");
            sb.append("          ").append(s.actualSha256 == null ? "not computed" : s.actualSha256)
                    .append(s.actualSha256 != null && s.actualSha256.equals(e.sha256) ? " ✓" : " ✗").append('\n');
            if (s.problem != null) {
                sb.append("✗ ").append(s.problem);
            }
            models.addView(Ui.text(requireContext(), sb.toString(), true));
        }
    }
}
