"""Shared by the shapes-llava scripts that mix question files (binding.sh, multi-object.sh)."""
import os


def linked(work, dest, src, records, tag):
    """Records of set WORK/src, their images linked into WORK/dest/images as tag-NAME, their ids tagged,
    so that one question file in WORK/dest can mix several sets."""
    out = []
    for r in records:
        name = f"{tag}-{os.path.basename(r['image'])}"
        link = f'{work}/{dest}/images/{name}'
        if not os.path.exists(link): os.symlink(os.path.abspath(f"{work}/{src}/{r['image']}"), link)
        out.append({**r, 'image': f'images/{name}', 'id': f"{tag}-{r['id']}"})
    return out
